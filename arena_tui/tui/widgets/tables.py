"""The base of the market, positions and leaderboard tables: fixed columns, rows keyed by name,
cells drawn from the session's ``ArenaState`` and updated in place, colours taken from the theme
through component classes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Mapping, Sequence

from rich.style import Style
from rich.text import Text
from textual import events
from textual.widgets import DataTable

from arena_tui.engine.sanitize import safe_line
from arena_tui.tui.widgets.component_style import text_style

if TYPE_CHECKING:
    from arena_tui.engine.state import ArenaState

NARROW_WIDTH = 100
"""Terminals narrower than this (in cells) get the narrow layout: tables drop their ``wide_only``
columns and use their ``narrow_width``s, at most two agent panes side by side, no wall clock."""

Row = tuple[str, Mapping[str, Text]]
"""One table row as (row key, column key -> cell)."""


@dataclass(frozen=True)
class ColumnSpec:
    """One table column: ``key`` (for ``update_cell``), header ``label``, fixed ``width`` in cells,
    whether its figures are right-aligned (``numeric``), whether it is left out on terminals
    narrower than ``NARROW_WIDTH`` (``wide_only``) or narrower than ``min_width`` cells, its
    width under ``NARROW_WIDTH`` (``narrow_width``, default ``width``), and when it gives way to
    keep the others whole (``drop``: where the columns shown at the terminal's width do not fit the
    table, the one with the highest ``drop`` leaves first, and so on until the rest fit; 0: never)."""

    key: str
    label: str
    width: int
    numeric: bool = True
    wide_only: bool = False
    narrow_width: int | None = None
    min_width: int = 0
    drop: int = 0

    def shown_at(self, width: int) -> bool:
        """Whether the column is on screen on a terminal ``width`` cells wide."""
        return width >= max(self.min_width, NARROW_WIDTH if self.wide_only else 0)

    def width_for(self, narrow: bool) -> int:
        """The column's width in cells (without the one-cell gap) on a narrow or wide terminal."""
        return self.narrow_width if narrow and self.narrow_width is not None else self.width


def fit_columns(columns: Sequence[ColumnSpec], narrow: bool, room: int) -> tuple[ColumnSpec, ...]:
    """``columns`` less the ones that give way (highest ``drop`` first) until the rest, each one
    cell wider than its figures, take at most ``room`` cells; the columns left keep their order."""
    shown = list(columns)
    while sum(c.width_for(narrow) + 1 for c in shown) > room:
        droppable = [c for c in shown if c.drop > 0]
        if not droppable:
            break
        shown.remove(max(droppable, key=lambda c: c.drop))
    return tuple(shown)


class ArenaTable(DataTable, can_focus=False):
    """A read-only ``DataTable`` with fixed-width columns from ``COLUMNS``, showing the session's
    ``ArenaState``.

    ``show(state)`` draws the table from ``state`` (the screen calls it after each batch of events
    that changed what the table shows). Subclasses say what the table should hold with
    ``table_rows()`` (every row, in display order, read from ``self.state``); ``refresh_rows()``
    makes the table show exactly that: cells that changed are updated in place, and when the set or
    order of rows changed the rows are laid out again. Nothing else adds, removes or sorts rows, so
    the table never holds a row the state does not. Cells are Rich ``Text`` styled by the component
    classes below, so a theme change re-renders every row.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = DataTable.COMPONENT_CLASSES | {
        "arena--up",
        "arena--down",
        "arena--muted",
        "arena--strong",
        "arena--warning",
        "arena--rule-based",
        "arena--benchmark",
        "arena--halted",
    }

    DEFAULT_CSS = """
    ArenaTable {
        height: auto;
        background: $surface;
        scrollbar-size-vertical: 1;
        & > .arena--up { color: $success; }
        & > .arena--down { color: $error; }
        & > .arena--muted { color: $text-muted; }
        & > .arena--strong { text-style: bold; }
        & > .arena--warning { color: $warning; }
        & > .arena--rule-based { color: $arena-rule-based; }
        & > .arena--benchmark { color: $arena-benchmark; text-style: italic; }
        & > .arena--halted { color: $text-muted; text-style: strike; }
    }
    """

    COLUMNS: ClassVar[tuple[ColumnSpec, ...]] = ()

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(
            id=id,
            classes=classes,
            show_cursor=False,
            cursor_type="none",
            zebra_stripes=False,
            cell_padding=0,
        )
        self.narrow = False
        self.width = NARROW_WIDTH
        """The terminal's width the columns were laid out for (cells)."""
        self.state: ArenaState | None = None
        """The state last shown (None before the session's first event)."""
        self._shown_keys: list[str] | None = None
        self._shown_cells: dict[str, dict[str, Text]] = {}
        self._dirty = False
        self._laid_out: tuple[tuple[str, int], ...] = ()
        """(key, width) of the columns the table holds."""

    def on_mount(self) -> None:
        self.width = self.app.size.width
        self.narrow = self.width < NARROW_WIDTH
        self._add_columns()
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)
        if self._dirty:
            self.refresh_rows()

    @property
    def wanted_columns(self) -> tuple[ColumnSpec, ...]:
        """The columns meant for the terminal's width (``ColumnSpec.shown_at``), before any gives
        way to the room there is (subclasses add or leave out their own)."""
        return tuple(c for c in self.COLUMNS if c.shown_at(self.width))

    @property
    def room(self) -> int:
        """The cells the columns may take: the terminal's width (the tables have no side borders),
        less the vertical scrollbar's while one is shown."""
        return self.width - (self.styles.scrollbar_size_vertical if self.show_vertical_scrollbar else 0)

    @property
    def shown_columns(self) -> tuple[ColumnSpec, ...]:
        """The columns on screen: ``wanted_columns`` less the ones that give way (``ColumnSpec.drop``)
        so that every column shown is whole."""
        return fit_columns(self.wanted_columns, self.narrow, self.room)

    def cell_width(self, key: str) -> int:
        """The most cells a figure in column ``key`` may take at the current layout (its width
        without the one-cell gap), for formatters that fit a figure to it (``fmt.price(width=...)``)."""
        spec = next((c for c in self.COLUMNS if c.key == key), None)
        if spec is None:  # a column a subclass adds (the leaderboard's ``real $``)
            spec = next(c for c in self.wanted_columns if c.key == key)
        return spec.width_for(self.narrow)

    def _add_columns(self) -> None:
        # No cell padding: every column is one cell wider than its figures instead, the gap before a
        # right-aligned figure or before a left-aligned label (see ``styled``), so 80 columns hold
        # the market table.
        self._laid_out = self._layout()
        for col in self.shown_columns:
            label = Text(col.label if col.numeric else f" {col.label}", justify="right" if col.numeric else "left")
            self.add_column(label, width=col.width_for(self.narrow) + 1, key=col.key)

    def _layout(self) -> tuple[tuple[str, int], ...]:
        return tuple((c.key, c.width_for(self.narrow)) for c in self.shown_columns)

    def relayout(self) -> bool:
        """Lay the columns out again (once mounted) when the ones to show, or their widths, are not
        the ones the table holds; returns whether it did (the rows are then to be added again)."""
        if not self.is_mounted or self._layout() == self._laid_out:
            return False
        self.clear(columns=True)
        self._shown_keys = None
        self._add_columns()
        return True

    def on_resize(self, event: events.Resize) -> None:
        self.fit_width()

    def fit_width(self, width: int | None = None) -> None:
        """Lay the columns out again if the terminal's ``width`` (default: the app's now) or the
        room a vertical scrollbar leaves calls for other columns. Called on ``Resize`` and by the
        screen on each terminal resize: a table hidden behind a zoomed pane is sent no ``Resize``,
        neither then nor when it is shown again."""
        self.width = self.app.size.width if width is None else width
        self.narrow = self.width < NARROW_WIDTH
        if self.relayout():
            self.refresh_rows()

    def watch_show_vertical_scrollbar(self, shown: bool) -> None:
        # The scrollbar takes a cell: the columns may no longer fit (or fit again). Not during the
        # layout that shows it.
        if self.is_mounted:
            self.call_later(self.fit_width)

    def _theme_changed(self, _theme: object) -> None:
        self.call_after_refresh(self.rerender)

    # -- cells ------------------------------------------------------------------------------------

    def styled(self, text: str, *components: str, numeric: bool = True) -> Text:
        """``text`` as a cell in the style of the given ``arena--*`` components. Cells hold names
        from configs and journals (agents, coins): ``text`` is made safe (``safe_line``) and drawn
        as ``Text``, never as markup; every table cell is made here."""
        text = safe_line(text)
        style = Style.combine(text_style(self, c) for c in components) if components else ""
        if numeric:
            return Text(text, style=style, justify="right", no_wrap=True, end="")
        return Text.assemble(" ", (text, style), justify="left", no_wrap=True, end="")

    def signed(self, value: float | None, text: str) -> Text:
        """``text`` coloured up (``$success``) for a positive ``value``, down (``$error``) for a
        negative one, plain for zero or missing."""
        if value is None or value != value or value == 0:
            return self.styled(text)
        return self.styled(text, "arena--up" if value > 0 else "arena--down")

    # -- rows -------------------------------------------------------------------------------------

    def show(self, state: ArenaState | None) -> None:
        """Draw the table from ``state`` (None: no session yet, an empty table)."""
        self.state = state
        self.refresh_rows()

    def table_rows(self) -> Sequence[Row]:
        """Every row the table should show, in display order (subclasses: from ``self.state``)."""
        return ()

    def refresh_rows(self) -> None:
        """Show ``table_rows()`` (once mounted)."""
        if not self.is_mounted:
            self._dirty = True
            return
        self._dirty = False
        self.show_rows(self.table_rows())

    def show_rows(self, rows: Sequence[Row]) -> None:
        """Make the table hold exactly ``rows`` (key, cells), in this order: changed cells are
        updated in place; a different set or order of keys lays the rows out again."""
        keys = [key for key, _ in rows]
        columns = [c.key for c in self.shown_columns]
        with self.app.batch_update():
            if keys != self._shown_keys:
                self.clear()
                for key, cells in rows:
                    self.add_row(*(cells.get(c, Text("")) for c in columns), key=key)
            else:
                for key, cells in rows:
                    old = self._shown_cells.get(key, {})
                    for col in columns:
                        value = cells.get(col, Text(""))
                        if old.get(col) != value:
                            self.update_cell(key, col, value)
        self._shown_keys = keys
        self._shown_cells = {key: dict(cells) for key, cells in rows}

    def rerender(self) -> None:
        """Re-render every row (after a theme change)."""
        self._shown_cells = {}
        self.refresh_rows()

    def reset(self) -> None:
        """Forget what the table keeps of its own (a replay jumped between cycles); subclasses with
        display-only history clear it."""
