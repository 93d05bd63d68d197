"""A background loop answers a blocking caller, from sync code and from another loop."""

from __future__ import annotations

import asyncio
import threading

import pytest

from adapters.exchanges.simulator.background import BackgroundLoop


async def _thread_name() -> str:
    await asyncio.sleep(0)
    return threading.current_thread().name


def test_run_executes_on_the_background_thread() -> None:
    with BackgroundLoop("venue") as background:
        assert background.run(_thread_name()) == "venue"


def test_run_async_does_not_block_the_calling_loop() -> None:
    async def main(background: BackgroundLoop) -> tuple[str, int]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            for _ in range(3):
                ticks += 1
                await asyncio.sleep(0)

        name, _ = await asyncio.gather(background.run_async(_thread_name()), tick())
        return name, ticks

    with BackgroundLoop("venue") as background:
        assert asyncio.run(main(background)) == ("venue", 3)


def test_an_exception_reaches_the_caller() -> None:
    async def boom() -> None:
        raise ValueError("from the venue")

    with BackgroundLoop() as background, pytest.raises(ValueError, match="from the venue"):
        background.run(boom())


def test_close_twice_is_harmless() -> None:
    background = BackgroundLoop()
    background.close()
    background.close()
    assert background.loop.is_closed()
