"""Run the fake provider server (``llm_server.FakeLLMServer``) on 127.0.0.1 until interrupted, to watch
the console stream from the real openai and anthropic clients without a network or a key:

    python -m tests.fakes.serve --port 8765 &
    arena-tui --config tests/fakes/watch.toml

``tests/fakes/watch.toml`` points an OpenAI Responses-API agent and an adaptive-thinking Anthropic
agent at it (the scenario is in each agent's model name; see ``llm_server.Scenario``).
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from tests.fakes.llm_server import FakeLLMServer


async def serve(port: int) -> None:
    server = await FakeLLMServer(port=port).start()
    print(f"fake OpenAI/Anthropic server on {server.base_url} (OpenAI base_url {server.openai_base_url})", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="The fake OpenAI/Anthropic streaming server of the tests.")
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765; 0 picks a free one)")
    asyncio.run(serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
