"""Background tasks that never die silently: each is named, its failure logged with the name,
and a loop that must run (heartbeats, workers) restarted after a backoff.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from .pacing import Pacing

logger = logging.getLogger(__name__)

# A crashed loop restarts after 0.1 s, then 0.2 s, 0.4 s ... up to 30 s while it keeps failing.
FIRST_RESTART_DELAY = 0.1
MAX_RESTART_DELAY = 30.0


def spawn(name: str, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    """Run `work` as a task named `name`; an unexpected error in it is logged with the name."""
    task = asyncio.create_task(work, name=name)
    task.add_done_callback(_log_failure)
    return task


def spawn_forever(
    name: str, loop: Callable[[], Awaitable[None]], pacing: Pacing
) -> asyncio.Task[None]:
    """Run `loop()` as a task named `name`, restarted after each unexpected error."""
    return spawn(name, keep_running(name, loop, pacing))


async def keep_running(name: str, loop: Callable[[], Awaitable[None]], pacing: Pacing) -> None:
    """Await `loop()` until it returns or is cancelled; restart it when it raises."""
    failures = 0
    while True:
        started = pacing.clock()
        try:
            await loop()
        except Exception:
            # A loop that ran well for a while before failing starts its backoff afresh.
            failures = 1 if pacing.clock() - started > MAX_RESTART_DELAY else failures + 1
            delay = pacing.backoff(failures, first=FIRST_RESTART_DELAY, cap=MAX_RESTART_DELAY)
            logger.exception(
                "background task %r failed unexpectedly; restarting it in %.2f s", name, delay
            )
        else:
            return
        await pacing.sleep(delay)


def _log_failure(task: asyncio.Task[None]) -> None:
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        logger.error("background task %r failed unexpectedly", task.get_name(), exc_info=error)
