"""A lingering batch waits for the requests on their way to it, and for nothing else."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from infra.postgres.batching import Arrivals, Batcher

# Far longer than any test may take: a batch that waited it out would fail the test.
LINGER_S = 30.0


class Recorder:
    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    async def run(self, items: Sequence[str]) -> list[str]:
        self.batches.append(list(items))
        return [item.upper() for item in items]


async def busy_batcher(recorder: Recorder, arrivals: Arrivals) -> Batcher[str, str]:
    batcher: Batcher[str, str] = Batcher(
        recorder.run, max_batch=10, in_flight=1, linger=LINGER_S, arrivals=arrivals
    )
    # A lone request goes at once; the next batch, moments later, lingers for company.
    assert await batcher.submit("first") == "FIRST"
    return batcher


async def announced(
    arrivals: Arrivals, batcher: Batcher[str, str], name: str, work_s: float = 0.0
) -> str:
    """A request that says it is coming, works a while, then submits."""
    with arrivals.expecting():
        await asyncio.sleep(work_s)  # parsing, authenticating, signing...
        return await batcher.submit(name)


def assert_kept_went_alone_at_once(answer: str, recorder: Recorder, started: float) -> None:
    """The request "kept" was answered in a batch of its own, long before a linger ran out."""
    assert answer == "KEPT"
    assert recorder.batches == [["first"], ["kept"]]
    assert time.monotonic() - started < LINGER_S / 3


async def test_a_lingering_batch_goes_once_every_expected_request_has_joined_it() -> None:
    recorder, arrivals = Recorder(), Arrivals()
    batcher = await busy_batcher(recorder, arrivals)

    started = time.monotonic()
    answers = await asyncio.gather(
        announced(arrivals, batcher, "quick"), announced(arrivals, batcher, "slow", 0.05)
    )

    assert list(answers) == ["QUICK", "SLOW"]
    assert recorder.batches == [["first"], ["quick", "slow"]]
    assert time.monotonic() - started < LINGER_S / 3


async def test_a_request_that_ends_without_submitting_no_longer_holds_the_batch() -> None:
    recorder, arrivals = Recorder(), Arrivals()
    batcher = await busy_batcher(recorder, arrivals)

    async def refused() -> None:
        with arrivals.expecting():
            await asyncio.sleep(0.05)  # refused before it appends anything

    started = time.monotonic()
    answer, _ = await asyncio.gather(announced(arrivals, batcher, "kept"), refused())

    assert_kept_went_alone_at_once(answer, recorder, started)


async def test_a_request_that_turns_out_not_to_append_soon_is_waited_for_no_longer() -> None:
    recorder, arrivals = Recorder(), Arrivals()
    batcher = await busy_batcher(recorder, arrivals)
    done_elsewhere = asyncio.Event()

    async def other_grant() -> None:
        with arrivals.expecting():
            await asyncio.sleep(0.05)  # read its body: not a grant that appends here
            arrivals.arrived()
            await done_elsewhere.wait()  # its own round trips, a password hash...

    async def request() -> str:
        answer = await announced(arrivals, batcher, "kept")
        done_elsewhere.set()
        return answer

    started = time.monotonic()
    answer, _ = await asyncio.gather(request(), other_grant())

    assert_kept_went_alone_at_once(answer, recorder, started)


async def test_with_no_request_on_its_way_a_batch_goes_without_lingering() -> None:
    recorder, arrivals = Recorder(), Arrivals()
    batcher = await busy_batcher(recorder, arrivals)

    async def unannounced(name: str, delay_s: float) -> str:
        await asyncio.sleep(delay_s)
        return await batcher.submit(name)

    # Nobody said they were coming: waiting would only leave the CPU idle.
    started = time.monotonic()
    await asyncio.gather(unannounced("a", 0.0), unannounced("b", 0.05))

    assert recorder.batches == [["first"], ["a"], ["b"]]
    assert time.monotonic() - started < LINGER_S / 3
