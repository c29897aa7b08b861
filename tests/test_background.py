"""The background-loop helper: retries Redis trouble with backoff, and stopping never hangs."""

from __future__ import annotations

import asyncio
import logging

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from server import background
from server.background import BackgroundTask, Backoff, Loop


def test_backoff_doubles_up_to_its_cap_and_starts_again_after_a_reset() -> None:
    """Delays go first, doubled, ... capped; reset starts from first again."""
    backoff = Backoff(0.1, 0.5)
    assert [backoff.next() for _ in range(5)] == [0.1, 0.2, 0.4, 0.5, 0.5]
    backoff.reset()
    assert backoff.next() == 0.1


async def test_a_step_failing_with_a_redis_error_is_logged_and_tried_again(caplog: pytest.LogCaptureFixture) -> None:
    """A RedisError is retried after the backoff's delay; ``on_error`` sees it; the loop goes on."""
    outcomes: list[Exception | None] = [RedisConnectionError("gone"), None]
    done = asyncio.Event()
    seen: list[Exception] = []

    async def step() -> None:
        outcome = outcomes.pop(0) if outcomes else None
        if outcome is not None:
            raise outcome
        done.set()

    loop = Loop("test loop", step, every_s=0.01, backoff=Backoff(0.01), on_error=seen.append).start()
    with caplog.at_level(logging.WARNING, "nextup.background"):
        await asyncio.wait_for(done.wait(), 5)
    await loop.stop()
    assert [str(e) for e in seen] == ["gone"]
    assert "test loop: gone; retrying in 0.0 s" in caplog.text


async def test_an_error_not_retried_ends_the_loop_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    """Anything outside ``retry_on`` ends the task and is logged, not swallowed; stop still returns."""

    async def step() -> None:
        raise KeyError("bug")

    with caplog.at_level(logging.ERROR, "nextup.background"):
        loop = Loop("buggy", step).start()
        await asyncio.sleep(0.05)
        await loop.stop()
    assert "background task buggy ended" in caplog.text


async def test_stop_ends_a_loop_whose_cancellation_redis_turned_into_an_error() -> None:
    """A step that turns its cancellation into a RedisError is not retried: ``stopping`` ends it."""
    steps = 0

    async def step() -> None:
        nonlocal steps
        steps += 1
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            raise RedisTimeoutError("read cancelled") from None

    loop = Loop("blocked read", step, backoff=Backoff(0.01)).start()
    await asyncio.sleep(0.05)
    await asyncio.wait_for(loop.stop(), 5)
    assert steps == 1


async def test_stop_cancels_again_a_task_that_swallowed_its_cancellation(monkeypatch: pytest.MonkeyPatch) -> None:
    """A task that ignores one cancellation is cancelled again until it ends."""
    monkeypatch.setattr(background, "RECANCEL_S", 0.05)
    swallowed = 0

    async def stubborn() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed += 1

    task = BackgroundTask("stubborn", stubborn).start()
    await asyncio.sleep(0.01)
    await asyncio.wait_for(task.stop(), 5)
    assert swallowed == 1
