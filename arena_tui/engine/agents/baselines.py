"""Rule-based baselines: no network, no keys, the same decision format the LLMs answer in.

Four strategies (``STRATEGIES``), built with ``make_baseline(strategy, name)``:

* ``trend_follower``: on the context timeframe (4h), long when EMA20 > EMA50 and MACD > 0, short
  when EMA20 < EMA50 and MACD < 0, flat otherwise; closes a position when its trend breaks (EMA20
  crosses EMA50 the other way or MACD changes sign). Leverage 5x, stop 2x ATR14(4h), target 2x the
  stop distance.
* ``rsi_mean_reversion``: on the intraday timeframe (5m), long when RSI7 < 20 and RSI14 < 30
  (oversold), short when RSI7 > 80 and RSI14 > 70 (overbought); closes when RSI14 is back to 50.
  Leverage 3x, stop 2x ATR14(intraday), target 1.5x the stop distance.
* ``btc_buy_and_hold``: buys BTC on its first cycle at 1x with 90 % of its available cash (stop at
  half the entry price, target at twice it: a buy-and-hold in the decision format) and holds it.
  It enters once: a position closed later (stop or target hit) is not re-opened.
* ``always_flat``: never enters; holds every coin flat (and closes anything it finds open).

Sizing (trend follower and mean reverter): risk 1 % of the account value per trade,
``quantity = risk_usd / stop distance``, the stop distance being 2 x ATR14 of the strategy's
timeframe but at least 0.5 % of the price (so that fees, ~9 bp a round trip, stay a small part of
the risk); margin capped so that every entry of the cycle fits in 90 % of the available cash
(``notional <= 0.9 x cash x leverage / entries``); quantities rounded down to about $1 of notional;
margin in use kept within 90 % of the account value; no entry below $10 of notional. Every entry carries a stop-loss, a profit target and an
invalidation condition; with a position open only hold or close are answered.

Each agent streams a short rationale built from the numbers it used, one line per coin through
``on_delta("reasoning", ...)``, then the JSON answer (``{"BTC": {"signal": ..., ...}, ...}``) in a
few chunks through ``on_delta("answer", ...)``. Decisions depend only on the request (and, for
buy-and-hold, on whether it has entered before): same inputs, same text.

Inputs: ``request.features`` (``indicators.compute_features`` of ``request.market``; computed here
when None), ``request.market`` (prices) and ``request.account`` (cash, account value, positions).
The intraday timeframe is the snapshot's finest; the context timeframe is ``"4h"`` when present,
else the coarsest (both can be set in the constructors).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping

from arena_tui.engine.account import AccountSnapshot, Position
from arena_tui.engine.agents.base import (
    Agent,
    AgentFailure,
    AgentKind,
    AgentReply,
    AgentRequest,
    OnDelta,
    Usage,
)
from arena_tui.engine.errors import ConfigError
from arena_tui.engine.market.base import MarketSnapshot, timeframe_ms
from arena_tui.engine.prompt import price_decimals

__all__ = [
    "STRATEGIES",
    "AlwaysFlat",
    "BtcBuyAndHold",
    "RsiMeanReversion",
    "RuleBasedAgent",
    "Sizing",
    "TrendFollower",
    "make_baseline",
]

STRATEGIES: tuple[str, ...] = ("trend_follower", "rsi_mean_reversion", "btc_buy_and_hold", "always_flat")
"""The strategy names ``make_baseline`` accepts."""

MIN_NOTIONAL_USD = 10.0
CASH_USE = 0.9  # share of available cash the entries of one cycle may post as margin (+ fees)


@dataclass(frozen=True)
class Sizing:
    """How a baseline sizes entries: ``risk_fraction`` of account value lost at the stop (0.01 =
    1 %), stop at ``atr_multiple`` x ATR14 but at least ``min_stop_fraction`` of the price, target at
    ``reward_risk`` x the stop distance, fixed ``leverage``."""

    leverage: float = 5.0
    risk_fraction: float = 0.01
    atr_multiple: float = 2.0
    min_stop_fraction: float = 0.005
    reward_risk: float = 2.0


@dataclass(slots=True)
class _CoinPlan:
    """One coin's answer (the decision dict) and the rationale line that explains it."""

    coin: str
    decision: dict[str, Any]
    rationale: str
    wants_entry: int = 0  # +1/-1 when the coin is to be entered (sized after every coin is planned)
    stop_distance: float = 0.0
    price: float = 0.0
    idea: str = ""
    invalidation: str = ""
    confidence: float = 0.0


def _human(x: float) -> str:
    """A number for a rationale: ~5 significant digits, thousands separators (113,219; 0.19864)."""
    if type(x) is float:
        # the context timeframe's indicators (and entry prices, quantities) repeat for many cycles
        text = _HUMAN_SEEN.get(x)
        if text is None:
            if len(_HUMAN_SEEN) >= _CACHE_SIZE:
                _HUMAN_SEEN.clear()
            text = _HUMAN_SEEN[x] = _human_text(x)
        return text
    return _human_text(x)


def _human_text(x: float) -> str:
    """``_human`` without the cache (any number, or None: "n/a")."""
    if x is None or not math.isfinite(x):
        return "n/a"
    if x == 0:
        return "0"
    d = max(0, min(8, 4 - math.floor(math.log10(abs(x)))))
    return f"{x:,.{d}f}"


_CACHE_SIZE = 4096
"""Entries a text cache holds before it starts over (a few cycles' worth; memory stays bounded)."""

_HUMAN_SEEN: dict[float, str] = {}
"""float -> ``_human`` text. Equal floats give the same text (0.0 and -0.0 both read "0"); a NaN
key is never found again and only costs a slot."""


def _usd(x: float) -> str:
    """Dollars for a rationale: ``$1,234`` (cents below $100: ``$99.99``)."""
    return f"${x:,.2f}" if abs(x) < 100 else f"${x:,.0f}"


def _round_price(x: float, ref: float) -> float:
    return round(x, price_decimals(ref))


def _qty_step(price: float) -> float:
    """About $1 of notional, as a power of ten (BTC 1e-5, ETH 1e-4, XRP 0.1, DOGE 1)."""
    return 10.0 ** math.floor(math.log10(1.0 / price)) if price > 0 else 1.0


def _floor_qty(q: float, price: float) -> float:
    step = _qty_step(price)
    n = math.floor(q / step + 1e-9)
    decimals = max(0, -int(math.floor(math.log10(step))))
    return round(n * step, decimals)


def _margin_budget(account: AccountSnapshot) -> float:
    """Margin (USD) this cycle's entries may post: 90 % of the free cash, and no more than keeps
    the margin in use within 90 % of the account value (the risk rules refuse more than 95 %)."""
    in_use = sum(p.margin for p in account.positions)
    return max(0.0, min(CASH_USE * account.cash, CASH_USE * account.account_value - in_use))


_ANSWER_JSON = json.JSONEncoder(separators=(", ", ": "), check_circular=False)


_NO_USAGE = Usage()
"""A rule-based agent's usage: no tokens (frozen, so one instance serves every reply)."""

_NO_FEATURES: Mapping = MappingProxyType({})
"""A coin without features (read-only, shared)."""

_TREND_FACTS: dict[tuple, str] = {}
"""(context, EMA20, EMA50, MACD) -> the trend follower's facts sentence: the context timeframe's
indicators move once a context candle closes (every 48 cycles on 4h over 5m), not every cycle."""

_STANDING_PLANS: dict[tuple[str, str], _CoinPlan] = {}
"""(what, coin) -> a plan that stays the same cycle after cycle (buy-and-hold's coins it does not
trade, always-flat's coins at its cash), shared: plans of holds are read, never changed."""


def _standing_plan(key: tuple[str, str], plan: _CoinPlan) -> _CoinPlan:
    """Keep ``plan`` under ``key`` in ``_STANDING_PLANS`` (bounded) and return it."""
    if len(_STANDING_PLANS) >= _CACHE_SIZE:
        _STANDING_PLANS.clear()
    _STANDING_PLANS[key] = plan
    return plan


_TIMEFRAMES_SEEN: list = []
"""[(market, features, intraday_tf, context_tf), (intraday, context)] of the last lookup."""


def _answer_line(decision: dict[str, Any]) -> str:
    """One coin's decision as the answer's JSON (``_ANSWER_JSON``); a plain hold, most of every
    answer, is written directly (the same bytes the encoder gives for an ASCII coin name)."""
    coin = decision.get("coin")
    if len(decision) == 2 and decision.get("signal") == "hold" and isinstance(coin, str) and coin.isascii() and coin.isalnum():
        return f'{{"coin": "{coin}", "signal": "hold"}}'
    return _ANSWER_JSON.encode(decision)


def _answer_entry(coin: str, decision: dict[str, Any]) -> str:
    """One line of the answer: ``  "COIN": {decision JSON}`` (a shared hold's is made once, ``_hold``)."""
    held = _HOLDS.get(coin)
    if held is not None and held[0] is decision:
        return held[1]
    return f'  "{coin}": {_answer_line(decision)}'


def _hold_open(p: Position, reason: str = "") -> dict[str, Any]:
    """Keep an open position: the signal (its exit plan stands as entered and is in the prompt's
    position list already). ``reason`` is not written: the streamed rationale line says it (the
    per-cycle paths leave it out rather than format a sentence nobody reads). The dict is shared
    (``_hold``): read it, never change it."""
    del reason  # the answer stays one short line per coin
    return _hold(p.coin)[0]


def _hold_flat(coin: str, reason: str = "") -> dict[str, Any]:
    """Flat and staying flat: just the signal (no exit plan to restate); ``reason`` and the shared
    dict as in ``_hold_open``."""
    del reason  # said in the streamed rationale line
    return _hold(coin)[0]


_HOLDS: dict[str, tuple[dict[str, Any], str]] = {}
"""coin -> (its plain hold decision, that decision's line in the answer), made once: most of every
answer is holds, the same every cycle."""


def _hold(coin: str) -> tuple[dict[str, Any], str]:
    """``coin``'s shared hold decision ``{"coin": coin, "signal": "hold"}`` and its answer line
    (``_answer_entry``'s text for it). Plans hold the dict itself (never a copy), so ``decide``
    knows a plain hold by identity."""
    held = _HOLDS.get(coin)
    if held is None:
        if len(_HOLDS) >= _CACHE_SIZE:
            _HOLDS.clear()
        decision = {"coin": coin, "signal": "hold"}
        held = _HOLDS[coin] = (decision, f'  "{coin}": {_answer_line(decision)}')
    return held


def _close(p: Position, reason: str) -> dict[str, Any]:
    return {
        "coin": p.coin,
        "signal": "close",
        "quantity": p.quantity,
        "leverage": p.leverage,
        "profit_target": p.profit_target,
        "stop_loss": p.stop_loss,
        "invalidation_condition": p.invalidation_condition or "",
        "confidence": 0.7,
        "risk_usd": p.risk_usd,
        "justification": reason,
    }


def _finite(*xs: float) -> bool:
    """Every one of ``xs`` is a finite number (None is not; anything else not a number raises
    ``TypeError``)."""
    for x in xs:  # (a loop, not all() over a generator: called per coin per cycle)
        if x is None or not _isfinite(x):
            return False
    return True


_isfinite = math.isfinite


class RuleBasedAgent:
    """Common machinery of the baselines: features, sizing, streaming and the JSON answer.

    Subclasses implement ``_plan_coin(coin, price, features_by_tf, position)`` returning a
    ``_CoinPlan``; entries are sized here once every coin is planned. ``decide`` never raises: an
    unexpected error comes back as ``AgentReply(failure=AgentFailure("error", ...))``.
    """

    kind: AgentKind = "rule-based"
    strategy: str = ""
    answers_at_once = True
    """``decide`` never awaits anything (no I/O, no timer): the arena calls it in turn, without a
    deadline or a task per agent. An agent without this flag (a journaled one, an LLM) is given both."""

    def __init__(
        self,
        name: str,
        *,
        sizing: Sizing | None = None,
        intraday_tf: str | None = None,
        context_tf: str | None = None,
    ) -> None:
        self.name = name
        self.model = self.strategy
        self.sizing = sizing or self.default_sizing()
        self.intraday_tf = intraday_tf
        self.context_tf = context_tf
        for tf in (intraday_tf, context_tf):
            if tf is not None:
                timeframe_ms(tf)

    @classmethod
    def default_sizing(cls) -> Sizing:
        return Sizing()

    # -- timeframes ------------------------------------------------------------------------------

    def _timeframes(self, market: MarketSnapshot, features: Mapping) -> tuple[str, str]:
        """(intraday, context) timeframes for this market; every agent of a cycle shares the same
        snapshot and features, so the answer is kept for the last pair seen."""
        last = _TIMEFRAMES_SEEN
        if last:
            seen = last[0]
            if seen[0] is market and seen[1] is features and seen[2] is self.intraday_tf and seen[3] is self.context_tf:
                return last[1]
        found = self._find_timeframes(market, features)
        # strong references: ids cannot be reused meanwhile
        _TIMEFRAMES_SEEN[:] = [(market, features, self.intraday_tf, self.context_tf), found]
        return found

    def _find_timeframes(self, market: MarketSnapshot, features: Mapping) -> tuple[str, str]:
        available: set[str] = set(market.timeframes)
        for per_tf in features.values():
            available |= set(per_tf)
        if not available:
            raise ValueError("the market snapshot has no candles")
        ordered = sorted(available, key=timeframe_ms)
        intraday = self.intraday_tf or ordered[0]
        context = self.context_tf or ("4h" if "4h" in available else ordered[-1])
        return intraday, context

    # -- planning --------------------------------------------------------------------------------

    def _plan_coin(self, coin: str, price: float, feats: Mapping, position: Position | None,
                   intraday: str, context: str) -> _CoinPlan:
        raise NotImplementedError

    def _plans(self, request: AgentRequest, features: Mapping) -> list[_CoinPlan]:
        market, account = request.market, request.account
        intraday, context = self._timeframes(market, features)
        positions = {}
        for p in account.positions:
            positions[p.coin] = p
        plan, feats, held = self._plan_coin, features.get, positions.get
        plans = [
            plan(coin, snap.price, feats(coin, _NO_FEATURES), held(coin), intraday, context)
            for coin, snap in market.coins.items()
        ]
        self._size_entries(plans, account)
        return plans

    def _size_entries(self, plans: list[_CoinPlan], account: AccountSnapshot) -> None:
        entries = [p for p in plans if p.wants_entry]
        if not entries:
            return
        s = self.sizing
        risk_usd = s.risk_fraction * account.account_value
        margin_cap = _margin_budget(account) / len(entries)
        for p in entries:
            side = p.wants_entry
            dist = max(p.stop_distance, s.min_stop_fraction * p.price)
            qty_risk = risk_usd / dist if dist > 0 else 0.0
            qty_cap = margin_cap * s.leverage / p.price
            qty = _floor_qty(min(qty_risk, qty_cap), p.price)
            notional = qty * p.price
            if qty <= 0 or notional < MIN_NOTIONAL_USD:
                p.decision = _hold_flat(p.coin, f"{p.idea}, but the size would be under ${MIN_NOTIONAL_USD:.0f}: stay flat.")
                p.rationale += f" The size would be under ${MIN_NOTIONAL_USD:.0f} of notional: stay flat."
                p.wants_entry = 0
                continue
            stop = _round_price(p.price - side * dist, p.price)
            target = _round_price(p.price + side * s.reward_risk * dist, p.price)
            risk = round(qty * abs(p.price - stop), 2)
            verb = "buy" if side > 0 else "sell"
            why_stop = (
                f"{s.atr_multiple:g}x ATR" if dist == p.stop_distance else f"{s.min_stop_fraction * 100:g}% floor over {s.atr_multiple:g}x ATR"
            )
            capped = " (capped by the margin budget)" if qty_risk > qty_cap else ""
            p.decision = {
                "coin": p.coin,
                "signal": "buy_to_enter" if side > 0 else "sell_to_enter",
                "quantity": qty,
                "leverage": s.leverage,
                "profit_target": target,
                "stop_loss": stop,
                "invalidation_condition": p.invalidation,
                "confidence": p.confidence,
                "risk_usd": risk,
                "justification": f"{p.idea}; risk {_usd(risk)} at the stop.",
            }
            p.rationale += (
                f" {verb.capitalize()} {_human(qty)} {p.coin}{capped} at {s.leverage:g}x, stop {_human(stop)} "
                f"({why_stop}, risk {_usd(risk)}), target {_human(target)}."
            )

    # -- the Agent protocol ------------------------------------------------------------------------

    async def decide(self, request: AgentRequest, on_delta: OnDelta) -> AgentReply:
        """Plan every coin, stream the rationale (one line per coin) and the JSON answer."""
        t0 = time.perf_counter()
        try:
            features = request.features
            if features is None:
                from arena_tui.engine.indicators import compute_features

                features = compute_features(request.market)
            plans = self._plans(request, features)
            lines, entries = [], []
            holds = _HOLDS
            for p in plans:
                lines.append(p.rationale.strip())
                held = holds.get(p.coin)  # (``_answer_entry``, inline: per coin per cycle)
                entries.append(held[1] if held is not None and held[0] is p.decision else _answer_entry(p.coin, p.decision))
            # one coin a line: readable in the pane, compact in the journal
            answer = "{\n" + ",\n".join(entries) + "\n}"
        except Exception as exc:  # a baseline bug must not crash a cycle
            return AgentReply(
                latency_s=time.perf_counter() - t0,
                failure=AgentFailure("error", f"{self.name}: the {self.strategy} baseline failed ({type(exc).__name__}: {exc})."),
            )
        # the whole rationale, then the whole answer: a rule-based agent has it all at once, and
        # one delta each costs the cycle (and the journal) least
        reasoning = "\n".join(lines) + "\n" if lines else ""  # every line ends with a newline
        on_delta("reasoning", reasoning)
        ttft = time.perf_counter() - t0
        on_delta("answer", answer)
        return AgentReply(
            text=answer,
            reasoning=reasoning,
            usage=_NO_USAGE,
            ttft_s=ttft,
            latency_s=time.perf_counter() - t0,
            cost_usd=0.0,
            finish_reason="stop",
        )


class TrendFollower(RuleBasedAgent):
    """Trend follower on the context timeframe: EMA20 vs EMA50 and the sign of MACD (see module)."""

    strategy = "trend_follower"

    @classmethod
    def default_sizing(cls) -> Sizing:
        return Sizing(leverage=5.0, reward_risk=2.0)

    def _plan_coin(self, coin, price, feats, position, intraday, context):
        f = feats.get(context)
        if f is None:
            reason = f"no {context} candles"
            if position is not None:
                return _CoinPlan(coin, _hold_open(position, reason + ": keep the position."), f"{coin}: {reason}, hold.")
            return _CoinPlan(coin, _hold_flat(coin, reason + "."), f"{coin}: {reason}, stay flat.")
        last = f.last
        e20, e50, macd, atr14 = last("ema20"), last("ema50"), last("macd"), last("atr14")
        try:  # (``_finite`` inline: per coin per cycle; None and the like go through it)
            usable = _isfinite(price) and _isfinite(e20) and _isfinite(e50) and _isfinite(macd) and _isfinite(atr14)
        except TypeError:
            usable = _finite(price, e20, e50, macd, atr14)
        if not usable:
            why = f"not enough {context} history for EMA50/MACD/ATR yet"
            if position is not None:
                return _CoinPlan(coin, _hold_open(position, why + "."), f"{coin}: {why}; hold.")
            return _CoinPlan(coin, _hold_flat(coin, why + "."), f"{coin}: {why}; stay flat.")
        up, down = e20 > e50 and macd > 0, e20 < e50 and macd < 0
        key = (context, e20, e50, macd)
        facts = _TREND_FACTS.get(key)
        if facts is None:
            rel = ">" if e20 > e50 else "<" if e20 < e50 else "="
            mrel = ">" if macd > 0 else "<" if macd < 0 else "="
            facts = f"{context} EMA20 {_human(e20)} {rel} EMA50 {_human(e50)} and MACD {_human(macd)} {mrel} 0"
            if len(_TREND_FACTS) >= _CACHE_SIZE:
                _TREND_FACTS.clear()
            _TREND_FACTS[key] = facts
        trend = "trend up" if up else "trend down" if down else "no clear trend"
        if position is not None:
            side_name = position.side_name
            if (position.side > 0 and not up) or (position.side < 0 and not down):  # the trend is broken
                return _CoinPlan(coin, _close(position, f"{facts}: the {side_name} trend is broken."),
                                 f"{coin}: {facts}: {trend}; close the {side_name}.")
            # (the trend holds)
            return _CoinPlan(coin, (_HOLDS.get(coin) or _hold(coin))[0], f"{coin}: {facts}: {trend}; hold the {side_name}.")
        if not (up or down):
            return _CoinPlan(coin, (_HOLDS.get(coin) or _hold(coin))[0], f"{coin}: {facts}: {trend}; stay flat.")  # (no clear trend)
        side = 1 if up else -1
        strength = abs(e20 / e50 - 1.0)
        conf = round(min(0.8, 0.55 + 10.0 * strength), 2)
        inval = (
            f"{context} EMA20 crosses below EMA50 or {context} MACD turns negative" if side > 0
            else f"{context} EMA20 crosses above EMA50 or {context} MACD turns positive"
        )
        return _CoinPlan(
            coin,
            {},
            f"{coin}: {facts}: {trend}.",
            wants_entry=side,
            stop_distance=self.sizing.atr_multiple * atr14,
            price=price,
            idea=f"{facts}: {trend}",
            invalidation=inval,
            confidence=conf,
        )


class RsiMeanReversion(RuleBasedAgent):
    """RSI mean-reverter on the intraday timeframe: fades RSI7/RSI14 extremes (see module)."""

    strategy = "rsi_mean_reversion"
    OVERSOLD = (20.0, 30.0)  # RSI7 below, RSI14 below
    OVERBOUGHT = (80.0, 70.0)  # RSI7 above, RSI14 above
    EXIT_RSI14 = 50.0

    @classmethod
    def default_sizing(cls) -> Sizing:
        return Sizing(leverage=3.0, reward_risk=1.5)

    def _plan_coin(self, coin, price, feats, position, intraday, context):
        f = feats.get(intraday)
        if f is None:
            reason = f"no {intraday} candles"
            if position is not None:
                return _CoinPlan(coin, _hold_open(position, reason + ": keep the position."), f"{coin}: {reason}, hold.")
            return _CoinPlan(coin, _hold_flat(coin, reason + "."), f"{coin}: {reason}, stay flat.")
        last = f.last
        r7, r14, atr14 = last("rsi7"), last("rsi14"), last("atr14")
        try:  # (``_finite`` inline, as in the trend follower)
            usable = _isfinite(price) and _isfinite(r7) and _isfinite(r14) and _isfinite(atr14)
        except TypeError:
            usable = _finite(price, r7, r14, atr14)
        if not usable:
            why = f"not enough {intraday} history for RSI/ATR yet"
            if position is not None:
                return _CoinPlan(coin, _hold_open(position, why + "."), f"{coin}: {why}; hold.")
            return _CoinPlan(coin, _hold_flat(coin, why + "."), f"{coin}: {why}; stay flat.")
        facts = f"{intraday} RSI7 {r7:.1f}, RSI14 {r14:.1f}"
        if position is not None:
            side_name, exit_rsi = position.side_name, self.EXIT_RSI14
            if (position.side > 0 and r14 >= exit_rsi) or (position.side < 0 and r14 <= exit_rsi):
                return _CoinPlan(coin, _close(position, f"{facts}: back to the mean, take the {side_name} off."),
                                 f"{coin}: {facts}: RSI14 is back to {exit_rsi:g}; close the {side_name}.")
            # (not back to the mean yet)
            return _CoinPlan(coin, (_HOLDS.get(coin) or _hold(coin))[0],
                             f"{coin}: {facts}: waiting for RSI14 to reach {exit_rsi:g}; hold the {side_name}.")
        if r7 < self.OVERSOLD[0] and r14 < self.OVERSOLD[1]:
            side, state = 1, f"oversold (RSI7 < {self.OVERSOLD[0]:g}, RSI14 < {self.OVERSOLD[1]:g})"
        elif r7 > self.OVERBOUGHT[0] and r14 > self.OVERBOUGHT[1]:
            side, state = -1, f"overbought (RSI7 > {self.OVERBOUGHT[0]:g}, RSI14 > {self.OVERBOUGHT[1]:g})"
        else:
            return _CoinPlan(coin, (_HOLDS.get(coin) or _hold(coin))[0], f"{coin}: {facts}: no extreme; stay flat.")
        depth = (self.OVERSOLD[0] - r7) if side > 0 else (r7 - self.OVERBOUGHT[0])
        conf = round(min(0.75, 0.5 + depth / 40.0), 2)
        inval = (
            f"{intraday} RSI14 falls below 20 (capitulation)" if side > 0 else f"{intraday} RSI14 rises above 80 (breakout)"
        )
        return _CoinPlan(
            coin,
            {},
            f"{coin}: {facts}: {state}, expect a revert to the mean.",
            wants_entry=side,
            stop_distance=self.sizing.atr_multiple * atr14,
            price=price,
            idea=f"{facts}: {state}",
            invalidation=inval,
            confidence=conf,
        )


class BtcBuyAndHold(RuleBasedAgent):
    """Buys BTC once at 1x with 90 % of its available cash and holds it; every other coin flat."""

    strategy = "btc_buy_and_hold"
    COIN = "BTC"

    @classmethod
    def default_sizing(cls) -> Sizing:
        return Sizing(leverage=1.0)

    def _plans(self, request: AgentRequest, features: Mapping) -> list[_CoinPlan]:
        account = request.account
        positions = {}
        for p in account.positions:
            positions[p.coin] = p
        plans = []
        for coin, snap in request.market.coins.items():
            pos = positions.get(coin)
            if coin != self.COIN:
                if pos is not None:
                    plans.append(_CoinPlan(coin, _hold_open(pos, "not part of buy-and-hold; left as it is."), f"{coin}: not traded; hold."))
                else:  # the same plan every cycle: made once (``decide`` only reads plans)
                    plan = _STANDING_PLANS.get(("not traded", coin))
                    if plan is None:
                        plan = _standing_plan(("not traded", coin), _CoinPlan(
                            coin, _hold_flat(coin, "buy-and-hold trades BTC only."), f"{coin}: not traded; stay flat."))
                    plans.append(plan)
                continue
            price = snap.price
            if pos is not None:
                pnl = pos.unrealized_pnl
                plans.append(_CoinPlan(coin, _hold_open(pos, "buy and hold."),
                                       f"{coin}: holding {_human(pos.quantity)} BTC from {_human(pos.entry_price)}, now {_human(price)} "
                                       f"(unrealized {_usd(pnl)}); hold."))
                continue
            # read from the account, not remembered: it has paid fees only if it bought before, so a
            # resumed session (fresh agent, rebuilt ledger) does not buy again
            if account.fees_paid > 0:
                plans.append(_CoinPlan(coin, _hold_flat(coin, "already bought once; buy-and-hold does not re-enter."),
                                       f"{coin}: the position was bought once and has been closed; buy-and-hold does not re-enter."))
                continue
            if not _finite(price) or price <= 0:
                plans.append(_CoinPlan(coin, _hold_flat(coin, "no BTC price yet."), f"{coin}: no price yet; wait."))
                continue
            qty = _floor_qty(_margin_budget(account) / price, price)
            if qty * price < MIN_NOTIONAL_USD:
                plans.append(_CoinPlan(coin, _hold_flat(coin, "not enough cash to buy."), f"{coin}: cash {_usd(account.cash)} is too little; wait."))
                continue
            stop, target = _round_price(price * 0.5, price), _round_price(price * 2.0, price)
            risk = round(qty * (price - stop), 2)
            plans.append(_CoinPlan(coin, {
                "coin": coin,
                "signal": "buy_to_enter",
                "quantity": qty,
                "leverage": 1,
                "profit_target": target,
                "stop_loss": stop,
                "invalidation_condition": "none: buy and hold",
                "confidence": 0.5,
                "risk_usd": risk,
                "justification": "Buy and hold BTC at 1x: the benchmark every strategy has to beat.",
            }, f"{coin}: first cycle: buy {_human(qty)} BTC at {_human(price)} with 90% of the cash "
               f"({_usd(qty * price)}) at 1x, stop {_human(stop)} (-50%), target {_human(target)} (+100%), then hold."))
        return plans


class AlwaysFlat(RuleBasedAgent):
    """Never enters: the do-nothing benchmark (closes any position it finds open)."""

    strategy = "always_flat"

    def _plans(self, request: AgentRequest, features: Mapping) -> list[_CoinPlan]:
        positions = {}
        for p in request.account.positions:
            positions[p.coin] = p
        cash = _usd(request.account.cash)
        plans = []
        for coin in request.market.coins:
            pos = positions.get(coin)
            if pos is not None:
                plans.append(_CoinPlan(coin, _close(pos, "always flat."), f"{coin}: a {pos.side_name} is open; close it and stay flat."))
            else:  # the same plan as long as the cash stays put (it does: nothing is ever bought)
                plan = _STANDING_PLANS.get((cash, coin))
                if plan is None:
                    plan = _standing_plan((cash, coin), _CoinPlan(coin, _hold_flat(coin, "always flat."), f"{coin}: stay flat (cash {cash})."))
                plans.append(plan)
        return plans


_CLASSES: dict[str, type[RuleBasedAgent]] = {
    "trend_follower": TrendFollower,
    "rsi_mean_reversion": RsiMeanReversion,
    "btc_buy_and_hold": BtcBuyAndHold,
    "always_flat": AlwaysFlat,
}


def make_baseline(strategy: str, name: str, **kwargs: Any) -> Agent:
    """A rule-based agent (``kind == "rule-based"``, ``model`` = the strategy) named ``name``.

    ``strategy`` is one of ``STRATEGIES``; keyword arguments (``sizing``, ``intraday_tf``,
    ``context_tf``) go to the constructor. Raises ``ConfigError`` for an unknown strategy.
    """
    cls = _CLASSES.get(str(strategy).strip().lower())
    if cls is None:
        raise ConfigError(f"unknown baseline strategy '{strategy}': use one of {', '.join(STRATEGIES)}.")
    return cls(name, **kwargs)
