"""Rich styles from a widget's component classes, for text drawn on the widget's own background."""

from __future__ import annotations

from rich.style import Style
from textual.widget import Widget


def text_style(widget: Widget, component: str, *, keep_background: bool = False) -> Style:
    """The Rich style of ``component`` (a class in the widget's ``COMPONENT_CLASSES``) resolved
    against the widget's background, so theme colours such as ``$text-muted`` (given relative to the
    background) come out right. The background itself is dropped unless ``keep_background``."""
    full = widget.get_component_rich_style(component)
    if keep_background:
        return full
    return Style(color=full.color, bold=full.bold, italic=full.italic, underline=full.underline, strike=full.strike)
