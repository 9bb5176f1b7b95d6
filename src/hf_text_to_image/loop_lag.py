"""How long the event loop was held: a 1 ms ticker measures how late each of its wake-ups ran.

Opt-in (`LOOP_LAG_PROBE`): a thousand wake-ups a second cost about 5% of a core. The
figures go to `/metrics` as histograms (late ticks by how late) and the worst lag seen.
A tick runs late for two reasons: the loop's thread was busy running code (the service's
own doing), or it waited for a core or for the GIL (a busy machine, or another thread).
The thread's CPU clock tells them apart: the part of a tick's lateness the thread spent
running goes to `event_loop_busy_seconds`.
"""

import asyncio
import time

from prometheus_client import CollectorRegistry, Gauge, Histogram

TICK_SECONDS = 0.001
# Fine steps around the 5 ms a step of a task may hold the loop, coarse ones past it.
LAG_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0)


class LoopLagProbe:
    def __init__(self, registry: CollectorRegistry, tick: float = TICK_SECONDS) -> None:
        self._tick = tick
        self.lag = Histogram(
            "event_loop_lag_seconds",
            f"How late a {tick * 1000:g} ms ticker on the event loop woke up.",
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        self.worst = Gauge(
            "event_loop_lag_max_seconds",
            "The longest the event loop was held since the service started.",
            registry=registry,
        )
        self.busy = Histogram(
            "event_loop_busy_seconds",
            "Of each tick's lateness, the part the event loop's thread spent running "
            "(its CPU time); the rest it waited for a core or the GIL.",
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        self._worst = 0.0

    async def run(self) -> None:
        """Tick until cancelled; each wake-up records how far past its due time it ran."""
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self._tick
            cpu_before = time.thread_time()
            await asyncio.sleep(self._tick)
            late = max(0.0, loop.time() - due)
            self.lag.observe(late)
            self.busy.observe(min(late, time.thread_time() - cpu_before))
            if late > self._worst:
                self._worst = late
                self.worst.set(late)
