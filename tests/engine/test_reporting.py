import httpx
import pytest
import respx

from hf_text_to_image.config import Settings
from hf_text_to_image.engine.models import TaskStatus, TaskUpdate
from hf_text_to_image.engine.reporting import Reporter, report_backoff
from hf_text_to_image.pacing import Pacing
from hf_text_to_image.runtime import build_http_client

CALLBACK = "http://engine.test/tasks/1"
UPDATE = TaskUpdate(status=TaskStatus.ERROR, error_message="bad token")


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_reporter(http: httpx.AsyncClient, time: FakeTime, budget: float = 120) -> Reporter:
    pacing = Pacing(sleep=time.sleep, clock=time.clock, jitter=lambda: 0.5)
    return Reporter(http, timeout=5, budget=budget, pacing=pacing)


def test_report_backoff_grows_and_is_capped() -> None:
    assert [report_backoff(n, 1.0) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
    assert report_backoff(20, 1.0) == 15.0


@pytest.mark.anyio
@respx.mock
async def test_report_sends_list_data_out_on_error() -> None:
    route = respx.patch(CALLBACK).respond(200)
    async with httpx.AsyncClient() as http:
        assert await make_reporter(http, FakeTime()).report("1", CALLBACK, UPDATE)
    assert route.calls.last.request.content == (
        b'{"status":"error","data_out":[],"error_message":"bad token"}'
    )


@pytest.mark.anyio
@respx.mock
async def test_report_retries_5xx_and_connection_errors_then_delivers() -> None:
    route = respx.patch(CALLBACK).mock(
        side_effect=[httpx.Response(503), httpx.ConnectError("down"), httpx.Response(200)]
    )
    time = FakeTime()
    async with httpx.AsyncClient() as http:
        assert await make_reporter(http, time).report("1", CALLBACK, UPDATE)
    assert route.call_count == 3
    assert len(time.sleeps) == 2


@pytest.mark.anyio
@respx.mock
async def test_report_retries_stop_once_the_task_is_no_longer_ours() -> None:
    route = respx.patch(CALLBACK).respond(503)
    answers = iter([True, False])

    async def still_ours() -> bool:
        return next(answers)

    async with httpx.AsyncClient() as http:
        reporter = make_reporter(http, FakeTime())
        assert not await reporter.report("1", CALLBACK, UPDATE, before_retry=still_ours)
    assert route.call_count == 2, "the first attempt, one retry, then no more"


@pytest.mark.anyio
@respx.mock
async def test_report_does_not_retry_a_4xx() -> None:
    route = respx.patch(CALLBACK).respond(422)
    async with httpx.AsyncClient() as http:
        assert not await make_reporter(http, FakeTime()).report("1", CALLBACK, UPDATE)
    assert route.call_count == 1


@pytest.mark.anyio
@respx.mock
async def test_report_gives_up_when_the_budget_is_spent(caplog: pytest.LogCaptureFixture) -> None:
    route = respx.patch(CALLBACK).respond(500)
    time = FakeTime()
    async with httpx.AsyncClient() as http:
        assert not await make_reporter(http, time, budget=10).report("1", CALLBACK, UPDATE)
    assert time.now <= 10
    assert route.call_count == len(time.sleeps) + 1
    assert "was not delivered" in caplog.text


@pytest.mark.anyio
@pytest.mark.parametrize(
    "callback_url", ["http://[::1", "not a url", "ftp://engine.test/tasks/1", "http:///tasks/1"]
)
async def test_report_to_an_unusable_url_gives_up_at_once_without_raising(
    callback_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    time = FakeTime()
    async with build_http_client(Settings(_env_file=None)) as http:
        delivered = await make_reporter(http, time).report("1", callback_url, UPDATE)
    assert not delivered
    assert time.sleeps == []
    assert "after 1 attempt(s)" in caplog.text
