"""The gate every password hash goes through: bounded, off the event loop, the trusted first.

An argon2 hash costs tens of milliseconds of CPU and 64 MiB; a flood of logins handed to the
default thread pool queued first-come first-served, so the real admin waited behind every guess.
``HashingGate`` runs at most ``slots`` hashes at once in a thread pool of its own (by default one
per ``lanes`` CPU cores: one argon2 hash already computes its lanes on as many threads, so more
hashes at once would only make each slower and hold 64 MiB more each), and lets the waiting
attempts in by ``Priority`` first, then in order of arrival: an address that logged in to the
account before, then clients with no recent failure, then failing clients (clients already
throttled never get here: ``server.login_throttle`` refuses them before). At most
``max_waiting`` attempts wait; one more is refused at once (``GateFull``), unless it outranks a
waiter, in which case the newest waiter of the lowest priority is refused in its place. So a
trusted login waits at most for the hashes in progress and the trusted ones ahead of it.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from enum import IntEnum
from typing import TypeVar

from server.errors import NextUpError

T = TypeVar("T")

#: Attempts waiting per hashing slot at most; more are refused at once (429), so a queued attempt
#: waits at most this many hashes (plus those of more trusted attempts arriving meanwhile).
WAITING_PER_SLOT = 8


class Priority(IntEnum):
    """Who goes first at the gate (lower first)."""

    #: The client's address logged in to this account successfully before (``login_throttle``).
    KNOWN = 0
    #: No recent failed login from the client's address.
    CLEAN = 1
    #: The client's address failed recently (but is not throttled yet).
    FAILING = 2


class GateFull(NextUpError):
    """Too many password checks are waiting; the attempt is refused without hashing."""


class HashingGate:
    def __init__(self, slots: int | None = None, max_waiting: int | None = None, lanes: int = 1) -> None:
        self.slots = slots or max(1, (os.cpu_count() or 1) // lanes)
        self.max_waiting = self.slots * WAITING_PER_SLOT if max_waiting is None else max_waiting
        self._free = self.slots
        self._waiting: tuple[deque[asyncio.Future[None]], ...] = tuple(deque() for _ in Priority)
        self._executor = ThreadPoolExecutor(self.slots, thread_name_prefix="nextup-hash")

    @property
    def waiting(self) -> int:
        return sum(len(queue) for queue in self._waiting)

    async def run(self, priority: Priority, work: Callable[..., T], *args: object) -> T:
        """``work(*args)`` in the gate's threads once a slot is free; GateFull if too many wait."""
        await self._enter(priority)
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, work, *args)
        finally:
            self._leave()

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _enter(self, priority: Priority) -> None:
        if self._free > 0 and self.waiting == 0:
            self._free -= 1
            return
        if self.waiting >= self.max_waiting and not self._refuse_lower_than(priority):
            raise GateFull("too many password checks waiting")
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._waiting[priority]
        queue.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn in queue:
                queue.remove(turn)
            elif turn.done() and not turn.cancelled() and turn.exception() is None:
                self._leave()  # the slot was handed to us just as we were cancelled: pass it on
            raise

    def _refuse_lower_than(self, priority: Priority) -> bool:
        """Refuse the newest waiter of the lowest priority below ``priority``; False if there is none."""
        for lower in reversed(Priority):
            if lower <= priority:
                return False
            if self._waiting[lower]:
                self._waiting[lower].pop().set_exception(GateFull("refused for a more trusted login"))
                return True
        return False

    def _leave(self) -> None:
        for queue in self._waiting:
            while queue:
                turn = queue.popleft()
                if not turn.done():
                    turn.set_result(None)  # the slot goes straight to the next in line
                    return
        self._free += 1

