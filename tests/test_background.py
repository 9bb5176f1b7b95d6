import asyncio
import os
import sys
import threading

import pytest

from hf_text_to_image.background import (
    BACKGROUND_NICENESS,
    MAX_BACKGROUND_THREADS,
    BackgroundThreads,
    background_thread_count,
)


def test_as_many_threads_as_cores_within_bounds() -> None:
    assert background_thread_count(None) == 1
    assert background_thread_count(2) == 2
    assert background_thread_count(64) == MAX_BACKGROUND_THREADS


@pytest.mark.anyio
async def test_work_runs_off_the_loop_and_behind_it() -> None:
    threads = BackgroundThreads(2)
    try:
        loop_thread = threading.get_native_id()

        def where() -> tuple[int, int]:
            tid = threading.get_native_id()
            return tid, os.getpriority(os.PRIO_PROCESS, tid)

        tid, niceness = await threads.run(where)
    finally:
        threads.close()
    assert tid != loop_thread
    if sys.platform == "linux":
        assert niceness == os.getpriority(os.PRIO_PROCESS, loop_thread) + BACKGROUND_NICENESS
        # The loop's own thread keeps its priority.
        assert os.getpriority(os.PRIO_PROCESS, loop_thread) < niceness


@pytest.mark.anyio
async def test_at_most_size_pieces_run_at_once() -> None:
    threads = BackgroundThreads(2)
    running, peak = 0, 0
    lock = threading.Lock()
    both_in = threading.Barrier(2, timeout=5)

    def work() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        both_in.wait()  # two at a time meet here; a third would break the barrier's count
        with lock:
            running -= 1

    try:
        await asyncio.gather(*(threads.run(work) for _ in range(4)))
    finally:
        threads.close()
    assert peak == 2


@pytest.mark.anyio
async def test_errors_reach_the_caller() -> None:
    threads = BackgroundThreads(1)

    def fail() -> None:
        raise ValueError("not an image")

    try:
        with pytest.raises(ValueError, match="not an image"):
            await threads.run(fail)
    finally:
        threads.close()
