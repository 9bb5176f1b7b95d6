"""Background tasks: a failure is logged with the task's name; a loop that must run restarts."""

import asyncio
import logging
from collections.abc import Callable

import httpx
import pytest
from standins.faults import failing_once
from standins.servers import UvicornThread, bind_loopback, wait_for

from hf_text_to_image.config import Settings
from hf_text_to_image.loop_lag import LoopLagProbe
from hf_text_to_image.main import create_app
from hf_text_to_image.pacing import Pacing
from hf_text_to_image.supervision import keep_running, spawn, spawn_forever


class Sleeps:
    """Records each pause and yields to the loop at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


def failures_logged(caplog: pytest.LogCaptureFixture, name: str) -> list[logging.LogRecord]:
    return [
        record
        for record in caplog.records
        if record.levelno == logging.ERROR and repr(name) in record.getMessage() and record.exc_info
    ]


@pytest.mark.anyio
async def test_a_failing_loop_is_logged_with_its_name_and_restarted_with_backoff(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs = 0

    async def loop() -> None:
        nonlocal runs
        runs += 1
        if runs < 4:
            raise RuntimeError(f"failure {runs}")

    sleeps = Sleeps()
    await keep_running(
        "the loop", loop, Pacing(sleep=sleeps, clock=lambda: 0.0, jitter=lambda: 1.0)
    )

    assert runs == 4
    assert sleeps.delays == [0.1, 0.2, 0.4]
    logged = failures_logged(caplog, "the loop")
    assert [str(record.exc_info[1]) for record in logged if record.exc_info] == [
        "failure 1",
        "failure 2",
        "failure 3",
    ]


@pytest.mark.anyio
async def test_a_loop_that_ran_long_before_failing_backs_off_afresh() -> None:
    now = 0.0
    runs = 0

    async def loop() -> None:
        nonlocal now, runs
        runs += 1
        now += 0.0 if runs < 3 else 100.0  # the third run lasts long, then fails
        if runs < 4:
            raise RuntimeError("again")

    sleeps = Sleeps()
    await keep_running(
        "the loop", loop, Pacing(sleep=sleeps, clock=lambda: now, jitter=lambda: 1.0)
    )

    assert sleeps.delays == [0.1, 0.2, 0.1]


@pytest.mark.anyio
async def test_cancelling_a_loop_is_not_a_failure(caplog: pytest.LogCaptureFixture) -> None:
    started = asyncio.Event()

    async def loop() -> None:
        started.set()
        await asyncio.Event().wait()

    task = spawn_forever("the loop", loop, Pacing())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not failures_logged(caplog, "the loop")


@pytest.mark.anyio
async def test_a_one_shot_task_that_fails_is_logged_with_its_name(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def report() -> None:
        raise LookupError("no such task")

    task = spawn("shutdown report of task t1", report())
    with pytest.raises(LookupError):
        await task
    await asyncio.sleep(0)  # done callbacks run on the next turn of the loop

    [record] = failures_logged(caplog, "shutdown report of task t1")
    assert record.exc_info is not None
    assert record.exc_info[0] is LookupError


def test_the_loop_lag_probe_resumes_after_an_unexpected_error(
    make_settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    run, failed = failing_once(LoopLagProbe.run, RuntimeError("a bug in the probe"))
    monkeypatch.setattr(LoopLagProbe, "run", run)
    sock = bind_loopback()
    app = create_app(make_settings(loop_lag_probe=True))
    with UvicornThread(app, sock) as service:

        def ticks() -> float:
            page = httpx.get(f"{service.url}/metrics").text
            line = next(
                ln for ln in page.splitlines() if ln.startswith("event_loop_lag_seconds_count")
            )
            return float(line.split()[-1])

        # What a scraper reads: the restarted probe's ticks.
        wait_for(lambda: ticks() > 10)
    assert failed.is_set()
    assert failures_logged(caplog, "loop-lag probe")
