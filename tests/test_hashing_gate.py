"""The hashing gate on its own: bounded, trusted logins first, a full queue refused at once."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from server.hashing_gate import GateFull, HashingGate, Priority


@pytest.fixture
def gate() -> Iterator[HashingGate]:
    """One hashing slot, three waiting places."""
    made = HashingGate(slots=1, max_waiting=3)
    yield made
    made.close()


async def occupy(gate: HashingGate) -> tuple[threading.Event, asyncio.Task[None]]:
    """Hold the gate's only slot until the returned event is set."""
    release = threading.Event()
    task: asyncio.Task[None] = asyncio.create_task(gate.run(Priority.CLEAN, _wait_for, release))
    await asyncio.sleep(0)  # the task takes the free slot as soon as it runs
    return release, task


def _wait_for(event: threading.Event) -> None:
    event.wait(10)


async def test_a_clean_attempt_queued_behind_failing_ones_goes_first(gate: HashingGate) -> None:
    """Known addresses, then clean clients, then failing ones; in order of arrival within each."""
    release, holder = await occupy(gate)
    served: list[str] = []
    arrivals = [("failing-1", Priority.FAILING), ("failing-2", Priority.FAILING), ("clean", Priority.CLEAN)]
    waiters = [asyncio.create_task(gate.run(priority, served.append, name)) for name, priority in arrivals]
    await asyncio.sleep(0)  # each task runs up to its place in the queue
    assert gate.waiting == 3
    release.set()
    await asyncio.gather(holder, *waiters)
    assert served == ["clean", "failing-1", "failing-2"]


async def test_a_full_queue_refuses_at_once_unless_a_lower_waiter_can_give_way(gate: HashingGate) -> None:
    """With every place taken, a failing attempt is refused; a known one takes the newest failing one's place."""
    release, holder = await occupy(gate)
    served: list[str] = []
    failing = [asyncio.create_task(gate.run(Priority.FAILING, served.append, f"f{n}")) for n in range(3)]
    await asyncio.sleep(0)  # each task runs up to its place in the queue
    assert gate.waiting == 3
    with pytest.raises(GateFull):
        await gate.run(Priority.FAILING, served.append, "one too many")
    known = asyncio.create_task(gate.run(Priority.KNOWN, served.append, "known"))
    await asyncio.sleep(0)
    release.set()
    results = await asyncio.gather(holder, known, *failing, return_exceptions=True)
    assert isinstance(results[-1], GateFull)
    assert served == ["known", "f0", "f1"]
