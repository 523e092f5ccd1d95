"""The per-coin decision a model (or baseline) answers with, in the Alpha Arena format.

``parse.parse_decisions`` produces these from model text; ``risk.validate`` turns them into orders.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Signal = Literal["buy_to_enter", "sell_to_enter", "hold", "close"]
SIGNALS: tuple[str, ...] = ("buy_to_enter", "sell_to_enter", "hold", "close")


@dataclass(frozen=True)
class Decision:
    """One coin's decision for one cycle.

    ``quantity`` is in the base coin (positive); ``leverage`` a multiple (e.g. 10.0);
    ``profit_target`` / ``stop_loss`` are prices in USD; ``confidence`` is 0-1 as the model gave it
    (``risk.validate`` reads 0-100 as a percentage); ``risk_usd`` is the model's own claim of the
    dollar loss at its stop. Fields the model left out are ``None``.

    ``take_profit`` is a take-profit ladder (the percent format, ``parse.parse_percent_decisions``):
    ``((price USD, close_fraction), ...)`` nearest level first, each level closing ``close_fraction``
    (0-1] of the position's *original* quantity, the last one closing whatever remains; ``None`` when
    the answer gave no ladder. ``size_pct`` is the margin the model asked for, percent of account
    value (percent format only; ``quantity`` is computed from it).
    """

    coin: str
    signal: Signal
    quantity: float | None = None
    leverage: float | None = None
    profit_target: float | None = None
    stop_loss: float | None = None
    invalidation_condition: str | None = None
    confidence: float | None = None
    risk_usd: float | None = None
    justification: str | None = None
    take_profit: tuple[tuple[float, float], ...] | None = None
    size_pct: float | None = None

    @property
    def is_entry(self) -> bool:
        return self.signal in ("buy_to_enter", "sell_to_enter")

    @property
    def side(self) -> int:
        """+1 for buy_to_enter (long), -1 for sell_to_enter (short), 0 otherwise."""
        return {"buy_to_enter": 1, "sell_to_enter": -1}.get(self.signal, 0)
