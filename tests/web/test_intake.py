"""Group commit of webhook deliveries: what arrives during a write goes into the next one."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from keepwell.web.intake import Intake


def test_it_stores_what_arrives_during_a_write_in_the_next_one() -> None:
    writes: list[list[int]] = []

    def write(items: Sequence[int]) -> list[int]:
        writes.append(list(items))
        return [item * 10 for item in items]

    async def burst() -> list[int]:
        intake: Intake[int, int] = Intake(write)
        return await asyncio.gather(*(intake.submit(n) for n in range(20)))

    assert asyncio.run(burst()) == [n * 10 for n in range(20)]
    assert writes == [[0], list(range(1, 20))]


def test_it_fails_only_the_requests_of_a_failed_write() -> None:
    def write(items: Sequence[int]) -> list[int]:
        if 0 in items:
            raise RuntimeError("disk full")
        return list(items)

    async def burst() -> list[int | BaseException]:
        intake: Intake[int, int] = Intake(write)
        return await asyncio.gather(*(intake.submit(n) for n in range(3)), return_exceptions=True)

    first, *rest = asyncio.run(burst())
    assert isinstance(first, RuntimeError)
    assert rest == [1, 2]


@pytest.mark.parametrize("count", [1, 3])
def test_it_answers_each_request_once(count: int) -> None:
    async def run() -> list[str]:
        intake: Intake[str, str] = Intake(lambda items: [i.upper() for i in items])
        return await asyncio.gather(*(intake.submit(f"e{n}") for n in range(count)))

    assert asyncio.run(run()) == [f"E{n}" for n in range(count)]
