"""Group commit for webhook deliveries: requests that arrive while a write is under way are
stored together in the next one, so a burst costs a few transactions, not one per event.

All of it runs on the event loop, one coroutine at a time: no locks. The request whose
delivery starts a write (the leader) waits for that write only; whoever is waiting when it
ends leads the next."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from fastapi.concurrency import run_in_threadpool

Item = TypeVar("Item")
Result = TypeVar("Result")
MAX_BATCH = 500  # deliveries in one transaction (and SQLite's bound parameters)


class Intake(Generic[Item, Result]):
    def __init__(self, write: Callable[[Sequence[Item]], list[Result]]) -> None:
        self._write = write
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._writing = False
        self._written: asyncio.Event | None = None

    async def submit(self, item: Item) -> Result:
        """Store `item` with whatever else arrives meanwhile; its result once committed."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        while not future.done():
            if self._writing:
                assert self._written is not None
                await self._written.wait()
            else:
                await self._lead()
        return future.result()

    async def _lead(self) -> None:
        self._writing, self._written = True, asyncio.Event()
        batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
        try:
            results = await run_in_threadpool(self._write, [item for item, _ in batch])
        except Exception as exc:
            for _, future in batch:
                future.set_exception(exc)
        else:
            for (_, future), result in zip(batch, results, strict=True):
                future.set_result(result)
        finally:
            self._writing = False
            self._written.set()
