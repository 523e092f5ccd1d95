"""Performance metrics of a paper account: Alpha Arena's leaderboard and "advanced analytics" figures.

Record the account once per cycle with ``EquityTracker.record(time, snapshot)``, then
``compute_metrics(tracker, ledger.trades)`` (or ``tracker.metrics(trades)``) gives a frozen ``Metrics``.
``buy_and_hold(prices, starting_cash)`` is the benchmark row (BTC bought at the window's first price
and held).

Sharpe ratio (the leaderboard's). Simple returns over a fixed period, one hour (``SHARPE_PERIOD_MS``):
the account value at the last cycle of each UTC hour, ``r_h = V_h / V_{h-1} - 1`` (the first from the
first recorded value; an hour with no cycle is skipped, and the hour still running is not counted until
it ends), risk-free rate 0, ``mean(r) / std(r)`` (sample standard deviation, ddof=1), annualised by
``sqrt(8,760)`` hours a year (crypto trades every hour of every day). ``None`` until
``SHARPE_MIN_PERIODS`` (24) hourly returns exist, or with zero variance: over a handful of cycles an
annualised figure is noise in the hundreds. The period does not depend on the cycle interval, so
sessions at 3-minute and 15-minute cycles compare.

``sharpe_per_cycle``: the same over per-cycle returns, un-annualised, as Alpha Arena's prompts state
it (the prompt shows it to the models); ``None`` with fewer than two returns or zero variance.

Alpha Arena's published Sharpe values (final: Qwen3 Max 0.273, DeepSeek V3.1 0.359) are not
annualised: an annualised figure over ~2-3-minute cycles would be hundreds of times larger. Nor are
they per-invocation Sharpe ratios: from the account values in the real prompts of 2025-10-28, the
per-invocation return of DeepSeek V3.1 had a standard deviation of ~0.26 % against a season-average
return of ~0.023 % per invocation (a per-invocation Sharpe near 0.09, while its prompts showed 0.47).
They move by 0.001 from one invocation to the next, so they are recomputed every cycle, but over a
coarser return series; we cannot tell which from the data we hold. Compare with them only loosely.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    import numpy as np

from arena_tui.engine.account import AccountSnapshot, Trade

YEAR_MS = 365 * 86_400_000
"""Milliseconds in a (365-day) year, for annualising per-cycle figures."""
SHARPE_PERIOD_MS = 3_600_000
"""The Sharpe ratio's return period: one hour (ms)."""
SHARPE_MIN_PERIODS = 24
"""Hourly returns needed before a Sharpe ratio is shown (one day)."""
PERIODS_PER_YEAR = YEAR_MS / SHARPE_PERIOD_MS
"""8,760 hours a year: the annualising factor is its square root."""


@dataclass(frozen=True)
class Metrics:
    """One account's performance (USD unless named ``_pct``; ``None`` where undefined).

    ``account_value``, ``return_pct`` (vs ``starting_cash``), ``total_pnl`` (account value -
    starting cash: realized - fees - funding + unrealized), ``realized_pnl`` (gross, closed trades),
    ``unrealized_pnl``, ``fees_paid``, ``funding_paid`` (positive = paid);
    ``trade_count`` closed trades, ``wins``/``losses`` by net PnL (after fees and funding; a trade at
    exactly 0 is neither), ``win_rate_pct``, ``biggest_win``/``biggest_loss`` (best/worst net PnL of one
    trade); ``sharpe_per_cycle`` (un-annualised, per-cycle returns) and ``sharpe_annualised`` (hourly
    returns, annualised; see the module docstring), ``sharpe_periods`` (hourly returns it used),
    ``cycles_per_year``; ``max_drawdown_pct`` / ``max_drawdown_usd`` (largest peak-to-trough fall of the
    recorded account value); ``avg_holding_minutes`` / ``median_holding_minutes`` (closed trades);
    ``avg_leverage`` / ``avg_confidence`` over entries (closed trades and open positions);
    ``time_long_pct`` / ``time_short_pct`` / ``time_flat_pct``: share of recorded time with a net long,
    net short or no exposure (net notional = sum of side x quantity x mark), summing to 100;
    ``cycles`` the number of recorded cycles.
    """

    starting_cash: float
    account_value: float
    return_pct: float
    total_pnl: float
    realized_pnl: float
    unrealized_pnl: float
    fees_paid: float
    funding_paid: float
    trade_count: int
    wins: int
    losses: int
    win_rate_pct: float | None
    biggest_win: float | None
    biggest_loss: float | None
    sharpe_per_cycle: float | None
    sharpe_annualised: float | None
    cycles_per_year: float | None
    max_drawdown_pct: float
    max_drawdown_usd: float
    sharpe_periods: int
    avg_holding_minutes: float | None
    median_holding_minutes: float | None
    avg_leverage: float | None
    avg_confidence: float | None
    time_long_pct: float | None
    time_short_pct: float | None
    time_flat_pct: float | None
    cycles: int


@dataclass(frozen=True)
class BuyAndHold:
    """The buy-and-hold benchmark: all of ``starting_cash`` into the coin at ``entry_price`` and held.

    ``quantity`` coins bought (after the optional entry fee), ``exit_price`` the last price,
    ``account_value`` the value at it (after the optional exit fee), ``return_pct``,
    ``max_drawdown_pct`` and ``sharpe_per_cycle`` over the price series (as ``Metrics``), ``fees_paid``.
    """

    starting_cash: float
    entry_price: float
    exit_price: float
    quantity: float
    account_value: float
    return_pct: float
    max_drawdown_pct: float
    sharpe_per_cycle: float | None
    fees_paid: float


def sharpe_ratio(values: Sequence[float] | np.ndarray) -> float | None:
    """Un-annualised Sharpe ratio of the simple returns of ``values`` (risk-free 0, ddof=1).

    ``values`` are account values (USD) at successive cycles; steps from a value <= 0 are skipped.
    ``None`` with fewer than two returns or zero variance.
    """
    import numpy as np  # here, not at the top: the console's first frame does not wait for it
    v = np.asarray(values, dtype=np.float64)
    if v.shape[0] < 3:
        return None
    prev = v[:-1]
    ok = prev > 0
    r = v[1:][ok] / prev[ok] - 1.0
    if r.shape[0] < 2:
        return None
    sd = float(np.std(r, ddof=1))
    if not sd > 0.0 or not math.isfinite(sd):
        return None
    return float(np.mean(r)) / sd


def period_returns(times: Sequence[int] | np.ndarray, values: Sequence[float] | np.ndarray,
                   period_ms: int = SHARPE_PERIOD_MS) -> np.ndarray:
    """Simple returns between the values at the end of each ``period_ms`` period (ms since the epoch,
    UTC): the value of each period's last record, the first measured from the first record; the last
    (still running) period is left out. float64 array; empty with fewer than two periods."""
    import numpy as np  # here, not at the top: the console's first frame does not wait for it
    t = np.asarray(times, dtype=np.int64)
    v = np.asarray(values, dtype=np.float64)
    if t.shape[0] < 2:
        return np.empty(0)
    bucket = t // period_ms
    ends = np.flatnonzero(bucket[1:] != bucket[:-1])  # the last record of every period but the last
    closes = np.concatenate(([v[0]], v[ends]))
    prev = closes[:-1]
    ok = prev > 0
    return closes[1:][ok] / prev[ok] - 1.0


def annualised_sharpe(returns: Sequence[float] | np.ndarray, min_periods: int = SHARPE_MIN_PERIODS) -> float | None:
    """``mean / std (ddof=1) x sqrt(PERIODS_PER_YEAR)`` of hourly ``returns``; ``None`` with fewer than
    ``min_periods`` returns or zero variance."""
    import numpy as np  # here, not at the top: the console's first frame does not wait for it
    r = np.asarray(returns, dtype=np.float64)
    if r.shape[0] < max(2, min_periods):
        return None
    sd = float(np.std(r, ddof=1))
    if not sd > 0.0 or not math.isfinite(sd) or sd < 1e-12 * max(1.0, abs(float(np.mean(r)))):
        return None
    return float(np.mean(r)) / sd * math.sqrt(PERIODS_PER_YEAR)


def max_drawdown(values: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """``(max_drawdown_pct, max_drawdown_usd)`` of a value series: the largest fall from a running peak,
    in percent of that peak and in USD (both 0.0 for an empty or never-falling series)."""
    import numpy as np  # here, not at the top: the console's first frame does not wait for it
    v = np.asarray(values, dtype=np.float64)
    if v.shape[0] == 0:
        return 0.0, 0.0
    peak = np.maximum.accumulate(v)
    fall = peak - v
    usd = float(fall.max())
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(peak > 0, fall / peak, 0.0)
    return float(pct.max()) * 100.0, usd


class EquityTracker:
    """Records one agent's account once per cycle: ``record(time_ms, AccountSnapshot)``.

    Keeps times (ms), account values (USD) and net exposure (-1 short, 0 flat, +1 long) per record
    and the latest snapshot; ``metrics(trades)`` summarises them, ``summary(trades)`` as a plain dict.
    Records must come in time order (a record at the same time as the last one replaces it).
    ``starting_cash`` (USD) is optional and only informative: the figures use the snapshots' own.
    """

    def __init__(self, starting_cash: float | None = None) -> None:
        self.starting_cash = starting_cash
        self.times: list[int] = []
        self.values: list[float] = []
        self.exposure: list[int] = []
        self.last: AccountSnapshot | None = None

    def __len__(self) -> int:
        return len(self.times)

    def record(self, time: int, account: AccountSnapshot) -> None:
        """Add the account as it stands at ``time`` (ms). Raises ``ValueError`` if time goes back."""
        time = int(time)
        net = 0.0
        for p in account.positions:
            net += p.side * p.quantity * p.mark_price
        exposure = 1 if net > 0 else (-1 if net < 0 else 0)
        if self.times and time <= self.times[-1]:
            if time < self.times[-1]:
                raise ValueError(f"equity record at {time} ms is before the last one at {self.times[-1]} ms.")
            self.values[-1] = account.account_value
            self.exposure[-1] = exposure
        else:
            self.times.append(time)
            self.values.append(account.account_value)
            self.exposure.append(exposure)
        self.last = account

    def metrics(self, trades: Sequence[Trade], account: AccountSnapshot | None = None) -> "Metrics":
        """``compute_metrics(self, trades, account)``."""
        return compute_metrics(self, trades, account)

    def summary(self, trades: Sequence[Trade], account: AccountSnapshot | None = None) -> dict[str, float | int | None]:
        """``metrics(trades, account)`` as a JSON-ready dict (the ``Metrics`` field names), plus the
        short leaderboard keys ``win_rate`` (= ``win_rate_pct``) and ``sharpe`` (= ``sharpe_annualised``)."""
        d: dict[str, float | int | None] = dict(self.metrics(trades, account).__dict__)
        d["win_rate"] = d["win_rate_pct"]
        d["sharpe"] = d["sharpe_annualised"]
        return d


def compute_metrics(equity: EquityTracker, trades: Sequence[Trade], account: AccountSnapshot | None = None) -> Metrics:
    """All the leaderboard figures from the recorded cycles and the closed ``trades`` (oldest first).

    ``account`` (default: the last recorded snapshot) gives the current figures (value, PnL, fees,
    funding, open positions); the Sharpe ratio, drawdown and time shares use the recorded series.
    Raises ``ValueError`` when nothing has been recorded and no ``account`` is given.
    """
    import numpy as np  # here, not at the top: the console's first frame does not wait for it
    last = account if account is not None else equity.last
    if last is None:
        raise ValueError("no account recorded yet: call EquityTracker.record(time, snapshot) first.")
    values = np.asarray(equity.values, dtype=np.float64)
    times = np.asarray(equity.times, dtype=np.int64)

    net = [t.net_pnl for t in trades]
    wins = sum(1 for x in net if x > 0)
    losses = sum(1 for x in net if x < 0)
    holding = np.asarray([t.holding_ms for t in trades], dtype=np.float64) / 60_000.0

    leverages = [t.leverage for t in trades] + [p.leverage for p in last.positions]
    confidences = [c for c in [t.confidence for t in trades] + [p.confidence for p in last.positions] if c is not None]

    sharpe = sharpe_ratio(values)
    cycles_per_year = None
    if times.shape[0] >= 2:
        step = float(np.median(np.diff(times)))
        if step > 0:
            cycles_per_year = YEAR_MS / step
    hourly = period_returns(times, values)
    sharpe_ann = annualised_sharpe(hourly)

    dd_pct, dd_usd = max_drawdown(values)

    long_pct = short_pct = flat_pct = None
    if times.shape[0] >= 2:
        dt = np.diff(times).astype(np.float64)
        total = float(dt.sum())
        if total > 0:
            ex = np.asarray(equity.exposure[:-1], dtype=np.int64)
            long_pct = float(dt[ex > 0].sum()) / total * 100.0
            short_pct = float(dt[ex < 0].sum()) / total * 100.0
            flat_pct = float(dt[ex == 0].sum()) / total * 100.0

    return Metrics(
        starting_cash=last.starting_cash,
        account_value=last.account_value,
        return_pct=last.return_pct,
        total_pnl=last.account_value - last.starting_cash,
        realized_pnl=last.realized_pnl,
        unrealized_pnl=last.unrealized_pnl,
        fees_paid=last.fees_paid,
        funding_paid=last.funding_paid,
        trade_count=len(trades),
        wins=wins,
        losses=losses,
        win_rate_pct=wins / len(trades) * 100.0 if trades else None,
        biggest_win=max(net) if net else None,
        biggest_loss=min(net) if net else None,
        sharpe_per_cycle=sharpe,
        sharpe_annualised=sharpe_ann,
        cycles_per_year=cycles_per_year,
        max_drawdown_pct=dd_pct,
        max_drawdown_usd=dd_usd,
        sharpe_periods=int(hourly.shape[0]),
        avg_holding_minutes=float(holding.mean()) if holding.shape[0] else None,
        median_holding_minutes=float(np.median(holding)) if holding.shape[0] else None,
        avg_leverage=float(np.mean(leverages)) if leverages else None,
        avg_confidence=float(np.mean(confidences)) if confidences else None,
        time_long_pct=long_pct,
        time_short_pct=short_pct,
        time_flat_pct=flat_pct,
        cycles=len(equity),
    )


def buy_and_hold(prices: Sequence[float] | np.ndarray, starting_cash: float = 10_000.0, *, taker_fee_bp: float = 0.0) -> BuyAndHold:
    """Buy ``starting_cash`` worth of the coin at ``prices[0]`` and hold it to ``prices[-1]`` (USD).

    ``prices`` are the coin's prices at each cycle of the window (e.g. BTC's 5-minute closes), so
    the drawdown and Sharpe are comparable with the agents'. ``taker_fee_bp`` (default 0, as Alpha
    Arena's benchmark) is charged on the entry and on the final exit. Raises ``ValueError`` for an
    empty series or a non-positive first price.
    """
    import numpy as np  # here, not at the top: the console's first frame does not wait for it
    p = np.asarray(prices, dtype=np.float64)
    if p.shape[0] == 0 or not p[0] > 0:
        raise ValueError("buy-and-hold needs at least one price and a positive first price.")
    rate = taker_fee_bp / 10_000.0
    qty = starting_cash / (p[0] * (1.0 + rate))
    entry_fee = qty * p[0] * rate
    values = qty * p
    exit_fee = float(values[-1]) * rate
    final = float(values[-1]) - exit_fee
    dd_pct, _ = max_drawdown(values)
    return BuyAndHold(
        starting_cash=float(starting_cash),
        entry_price=float(p[0]),
        exit_price=float(p[-1]),
        quantity=float(qty),
        account_value=final,
        return_pct=(final / starting_cash - 1.0) * 100.0 if starting_cash else 0.0,
        max_drawdown_pct=dd_pct,
        sharpe_per_cycle=sharpe_ratio(values),
        fees_paid=float(entry_fee) + exit_fee,
    )


class RunningMetrics:
    """The leaderboard figures updated in O(1) per cycle, for long sessions (thousands of cycles).

    Same definitions as ``compute_metrics`` (Welford's running mean and sample variance, ddof=1):
    the Sharpe ratio over hourly returns, annualised (``sharpe``, ``None`` until
    ``SHARPE_MIN_PERIODS`` hourly returns exist), the per-cycle Sharpe ratio un-annualised
    (``sharpe_per_cycle``, ``None`` until ``min_returns`` per-cycle returns exist, default 30), maximum
    drawdown from the running peak (percent and USD), and win rate by net PnL over closed trades.
    ``update(account_value, trades, time)`` takes the value after the cycle (USD), the ledger's
    closed-trade list (only its new tail is read) and the cycle's time (ms, UTC), and returns a small
    dict: ``sharpe``, ``sharpe_periods`` (hourly returns so far), ``sharpe_per_cycle``,
    ``max_drawdown_pct``, ``max_drawdown_usd``, ``win_rate`` (percent or None), ``trades``.
    ``legacy_sharpe``: ``sharpe`` is the per-cycle ratio annualised by ``sqrt(cycles_per_year)``, as
    journals of schema 2 recorded it (so they still verify).
    """

    def __init__(self, cycles_per_year: float | None = None, min_returns: int = 30,
                 period_ms: int = SHARPE_PERIOD_MS, min_periods: int = SHARPE_MIN_PERIODS,
                 legacy_sharpe: bool = False) -> None:
        self.legacy_sharpe = legacy_sharpe
        self.min_returns = max(2, int(min_returns))
        self.cycles_per_year = cycles_per_year
        self.period_ms = int(period_ms)
        self.min_periods = max(2, int(min_periods))
        self.cycle = _Welford()
        self.hourly = _Welford()
        self.prev: float | None = None
        self.period: int | None = None
        self.period_base = 0.0
        self.period_close = 0.0
        self.peak = -math.inf
        self.dd_pct = 0.0
        self.dd_usd = 0.0
        self.seen_trades = 0
        self.wins = 0

    def update(self, account_value: float, trades: Sequence[Trade], time: int) -> dict[str, float | int | None]:
        v = float(account_value)
        if self.prev is not None and self.prev > 0:
            self.cycle.add(v / self.prev - 1.0)
        self.prev = v
        period = int(time) // self.period_ms
        if self.period is None:
            self.period, self.period_base = period, v
        elif period != self.period:  # the last period ended with the previous record
            if self.period_base > 0:
                self.hourly.add(self.period_close / self.period_base - 1.0)
            self.period, self.period_base = period, self.period_close
        self.period_close = v
        if v > self.peak:
            self.peak = v
        fall = self.peak - v
        if fall > self.dd_usd:
            self.dd_usd = fall
        if self.peak > 0 and fall / self.peak * 100.0 > self.dd_pct:
            self.dd_pct = fall / self.peak * 100.0
        for t in trades[self.seen_trades :]:
            if t.net_pnl > 0:
                self.wins += 1
        self.seen_trades = len(trades)
        return self.figures()

    def sharpe_per_cycle(self) -> float | None:
        return self.cycle.ratio(self.min_returns)

    def sharpe(self) -> float | None:
        if self.legacy_sharpe:
            s = self.sharpe_per_cycle()
            return s * math.sqrt(self.cycles_per_year) if s is not None and self.cycles_per_year else None
        s = self.hourly.ratio(self.min_periods)
        return s * math.sqrt(YEAR_MS / self.period_ms) if s is not None else None

    def figures(self) -> dict[str, float | int | None]:
        return {
            "sharpe": self.sharpe(),
            "sharpe_periods": self.hourly.n,
            "sharpe_per_cycle": self.sharpe_per_cycle(),
            "max_drawdown_pct": self.dd_pct,
            "max_drawdown_usd": self.dd_usd,
            "win_rate": self.wins / self.seen_trades * 100.0 if self.seen_trades else None,
            "trades": self.seen_trades,
        }


class _Welford:
    """Running mean and sample variance (Welford); ``ratio(min_n)`` is mean / std (ddof=1), or None
    with fewer than ``min_n`` values or (near) zero variance."""

    __slots__ = ("n", "mean", "m2")

    def __init__(self) -> None:
        self.n = 0
        self.mean = 0.0
        self.m2 = 0.0

    def add(self, x: float) -> None:
        self.n += 1
        delta = x - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (x - self.mean)

    def ratio(self, min_n: int) -> float | None:
        if self.n < max(2, min_n):
            return None
        var = self.m2 / (self.n - 1)
        if not var > 0.0:
            return None
        sd = math.sqrt(var)
        if sd < 1e-12 * max(1.0, abs(self.mean)):
            return None
        return self.mean / sd
