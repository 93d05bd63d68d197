"""Stopping a service's task: a cancellation the task loses is repeated until it ends."""

from __future__ import annotations

import asyncio

from entrypoints.services.lifecycle import cancel_within


async def _loses_cancellations(lost: int, steps: list[int]) -> None:
    """A loop whose first ``lost`` cancellations are swallowed, as a Redis command sometimes does."""
    while True:
        try:
            await asyncio.sleep(0.005)
        except asyncio.CancelledError:
            if lost == 0:
                raise
            lost -= 1
            asyncio.current_task().uncancel()  # type: ignore[union-attr]
        steps.append(1)


def test_a_lost_cancellation_is_repeated_until_the_task_ends() -> None:
    async def scenario() -> bool:
        steps: list[int] = []
        task = asyncio.create_task(_loses_cancellations(3, steps))
        await asyncio.sleep(0.02)
        await cancel_within(task, 2.0, what="shard 1")
        return task.cancelled()

    assert asyncio.run(scenario())
