"""Time as a collaborator (the clock, sleeps, jitter) and the one backoff formula.

Retries to the inference API, the report to the engine and the restart of a background
loop all wait the same way; tests hand in a clock and a sleep of their own.
"""

import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio


def backoff_delay(attempt: int, *, first: float, cap: float, jitter: float) -> float:
    """`first`, twice that, four times ... capped at `cap`, scaled by `jitter` in [0, 1) to 50-100%."""
    return min(cap, first * 2.0 ** (attempt - 1)) * (0.5 + jitter / 2)


@dataclass(frozen=True)
class Pacing:
    """The clock to read, how to sleep, and where jitter comes from."""

    sleep: Callable[[float], Awaitable[None]] = anyio.sleep
    clock: Callable[[], float] = time.monotonic
    jitter: Callable[[], float] = random.random

    def backoff(self, attempt: int, *, first: float, cap: float) -> float:
        return backoff_delay(attempt, first=first, cap=cap, jitter=self.jitter())
