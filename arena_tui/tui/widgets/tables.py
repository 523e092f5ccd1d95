"""The base of the market, positions and leaderboard tables: fixed columns, rows keyed by name,
cells updated in place, colours taken from the theme through component classes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.widgets import DataTable

from arena_tui.tui.widgets.component_style import text_style


@dataclass(frozen=True)
class ColumnSpec:
    """One table column: ``key`` (for ``update_cell``), header ``label``, fixed ``width`` in cells,
    and whether its figures are right-aligned (``numeric``)."""

    key: str
    label: str
    width: int
    numeric: bool = True


class ArenaTable(DataTable, can_focus=False):
    """A read-only ``DataTable`` with fixed-width columns from ``COLUMNS``.

    Subclasses keep their own state (the last event's values) and turn it into cells with
    ``render_row``; ``put_row`` adds the row or updates its cells in place. Cells are Rich ``Text``
    styled by the component classes below, so a theme change re-renders every row.
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

    def on_mount(self) -> None:
        # No cell padding: every column is one cell wider than its figures instead, the gap before a
        # right-aligned figure or before a left-aligned label (see ``styled``), so 80 columns hold
        # the market table.
        for col in self.COLUMNS:
            label = Text(col.label if col.numeric else f" {col.label}", justify="right" if col.numeric else "left")
            self.add_column(label, width=col.width + 1, key=col.key)
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)

    def _theme_changed(self, _theme: object) -> None:
        self.call_after_refresh(self.rerender)

    # -- cells ------------------------------------------------------------------------------------

    def styled(self, text: str, *components: str, numeric: bool = True) -> Text:
        """``text`` as a cell in the style of the given ``arena--*`` components."""
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

    def put_row(self, key: str, cells: dict[str, Text]) -> None:
        """Add the row ``key`` or update its cells in place (widths never change)."""
        if key in self.rows:
            for col_key, value in cells.items():
                self.update_cell(key, col_key, value)
        else:
            self.add_row(*(cells.get(col.key, Text("")) for col in self.COLUMNS), key=key)

    def drop_missing(self, keep: set[str]) -> None:
        """Remove the rows whose key is not in ``keep``."""
        for row_key in [k for k in self.rows if k.value not in keep]:
            self.remove_row(row_key)

    def rerender(self) -> None:
        """Re-render every row from the widget's state (after a theme change)."""

    def reset(self) -> None:
        """Forget every row (a replay jumped between cycles)."""
        self.clear()
