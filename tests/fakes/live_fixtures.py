"""The pytest fixtures the live-market test modules share: the fake exchange server started at a given
clock, and the ``exchange`` / ``market`` pair parametrised over a module's exchange ids.

A module binds them to its own names, with its own clock, exchanges and way of making a market::

    server, exchange, market = live_fixtures(START, EXCHANGE_IDS, make_market)
    server = server_fixture(NOW)  # the server alone

Each call makes new fixture functions, so modules that import one another's helpers keep their own.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import pytest

from arena_tui.engine.market.live import LiveMarket
from tests.fakes.exchange_server import FakeExchangeServer


def server_fixture(start: int) -> Any:
    """A ``server`` fixture: a ``FakeExchangeServer`` whose clock starts at ``start`` (epoch ms),
    stopped after the test."""

    @pytest.fixture(name="server")
    async def server():
        async with FakeExchangeServer(start) as srv:
            yield srv

    return server


def live_fixtures(
    start: int,
    exchange_ids: Iterable[str],
    make: Callable[..., LiveMarket],
    **options: Any,
) -> tuple[Any, Any, Any]:
    """The ``server``, ``exchange`` and ``market`` fixtures: the server as ``server_fixture(start)``;
    ``exchange`` one test per id of ``exchange_ids``; ``market`` ``make(server, exchange, **options)``,
    closed after the test."""

    @pytest.fixture(name="exchange", params=tuple(exchange_ids))
    async def exchange(request):
        return request.param

    @pytest.fixture(name="market")
    async def market(server, exchange):
        m = make(server, exchange, **options)
        yield m
        await m.close()

    return server_fixture(start), exchange, market
