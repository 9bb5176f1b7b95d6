"""The threads that do CPU work off the event loop, behind it in the CPU's queue.

Converting a model's JPEG or base64 answer takes 5-25 ms of CPU. On a thread of the same
priority as the event loop, two conversions on two cores keep the loop waiting for a core
(ticks 20-50 ms late while no step on the loop took 4 ms). At a lower priority the kernel
runs the loop as soon as it has work, and the conversions take the rest.

The GIL is the other queue: a thread running Python code keeps it until another thread has
waited the interpreter's switch interval, 5 ms by default, and a conversion's Python steps
between its C calls made the loop wait that long (ticks 7-9 ms late). At 1 ms it waits
about that, plus the longest C call that keeps the GIL (~3 ms to parse a 4 MB JSON answer).
"""

import asyncio
import contextlib
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

# Linux's nice scale: 10 weighs about a tenth of a normal thread when both want the CPU.
BACKGROUND_NICENESS = 10
# How long the event loop waits for the GIL at most while a background thread runs Python
# (the lifespan sets it while the service runs).
GIL_SWITCH_INTERVAL_SECONDS = 0.001
# More threads than cores only starve the event loop; past 4, answers are rarely that many.
MAX_BACKGROUND_THREADS = 4


def background_thread_count(cpu_count: int | None) -> int:
    return max(1, min(MAX_BACKGROUND_THREADS, cpu_count or 1))


def _lower_this_threads_priority() -> None:
    # Linux sets a nice value per thread; elsewhere the call would renice the whole process.
    if sys.platform == "linux":
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICENESS)


class BackgroundThreads:
    """A few low-priority threads; `run` awaits one piece of work on them."""

    def __init__(self, size: int) -> None:
        self._executor = ThreadPoolExecutor(
            max_workers=size,
            thread_name_prefix="background",
            initializer=_lower_this_threads_priority,
        )

    async def run(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, work)

    def close(self) -> None:
        """Drop the work not started; what runs finishes on its own (never waited for here)."""
        self._executor.shutdown(wait=False, cancel_futures=True)
