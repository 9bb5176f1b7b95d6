"""Following a provider's answer: jobs polled on the router, images downloaded without the token."""

from collections.abc import Callable

import httpx
import pytest
import respx

from hf_text_to_image.config import Settings
from hf_text_to_image.errors import UpstreamError, UpstreamTimeoutError
from hf_text_to_image.huggingface.polling import JobFollower
from hf_text_to_image.huggingface.providers import ADAPTERS, ImageLink, PollJob
from hf_text_to_image.huggingface.upstream import Upstream
from hf_text_to_image.metrics import Metrics
from hf_text_to_image.outbound import OutboundGuard, OutboundPolicy
from hf_text_to_image.pacing import Pacing
from hf_text_to_image.runtime import build_http_client

from .client_cases import ROUTER, TOKEN, FakeClock, FakeSleep, public_resolver

JOB = f"{ROUTER}/wavespeed/api/v3/predictions/w1/result"
IMAGE = "https://cdn.wavespeed.ai/o.png"
WAVESPEED = ADAPTERS["wavespeed"]


def follower(http: httpx.AsyncClient, settings: Settings, clock: FakeClock) -> JobFollower:
    pacing = Pacing(sleep=FakeSleep(clock), clock=clock, jitter=lambda: 0.0)
    upstream = Upstream(
        http,
        timeout=httpx.Timeout(5.0),
        max_response_bytes=settings.max_response_bytes,
        metrics=Metrics(),
        pacing=pacing,
    )
    return JobFollower(
        upstream,
        guard=OutboundGuard(OutboundPolicy.from_settings(settings), public_resolver),
        download_guard=OutboundGuard(OutboundPolicy.for_downloads(settings), public_resolver),
        max_poll_interval=settings.hf_max_poll_interval,
        deadline_seconds=settings.hf_retry_deadline,
        pacing=pacing,
    )


@pytest.fixture
def router() -> respx.MockRouter:
    with respx.mock(assert_all_called=False, using="httpx") as mock:
        yield mock


@pytest.mark.anyio
async def test_a_job_is_polled_through_a_dropped_connection_then_its_image_downloaded(
    make_settings: Callable[..., Settings], router: respx.MockRouter, png_bytes: bytes
) -> None:
    settings = make_settings()
    polls = router.get(JOB).mock(
        side_effect=[
            httpx.Response(200, json={"data": {"status": "processing"}}),
            httpx.ConnectError("dropped"),
            httpx.Response(200, json={"data": {"status": "completed", "outputs": [IMAGE]}}),
        ]
    )
    download = router.get(IMAGE).respond(200, content=png_bytes)
    clock = FakeClock()
    async with build_http_client(settings) as http:
        image = await follower(http, settings, clock).follow(
            PollJob(httpx.URL(JOB), 0.5), WAVESPEED, TOKEN, clock() + 60, "m"
        )
    assert image == png_bytes
    assert polls.call_count == 3
    assert polls.calls.last.request.headers["authorization"] == f"Bearer {TOKEN}"
    assert "authorization" not in download.calls.last.request.headers


@pytest.mark.anyio
async def test_a_job_that_outlasts_the_deadline_is_a_timeout(
    make_settings: Callable[..., Settings], router: respx.MockRouter
) -> None:
    settings = make_settings(hf_retry_deadline=2)
    polls = router.get(JOB).respond(200, json={"data": {"status": "processing"}})
    clock = FakeClock()
    async with build_http_client(settings) as http:
        with pytest.raises(UpstreamTimeoutError, match="wavespeed did not deliver the image"):
            await follower(http, settings, clock).follow(
                PollJob(httpx.URL(JOB), 0.5), WAVESPEED, TOKEN, clock() + 2, "m"
            )
    assert polls.call_count == 3  # at 0.5, 1.0 and 1.5 s; the next would end past 2 s


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("url", "answer", "phrase"),
    [
        ("https://elsewhere.example/o.png", None, "cannot be downloaded"),
        ("https://[::1", None, "cannot be downloaded: not a URL"),
        (IMAGE, httpx.Response(404), "failed (404)"),
        (IMAGE, httpx.ConnectError("down"), "failed (ConnectError)"),
    ],
)
async def test_a_download_that_cannot_be_made_says_why(
    make_settings: Callable[..., Settings],
    router: respx.MockRouter,
    url: str,
    answer: httpx.Response | Exception | None,
    phrase: str,
) -> None:
    settings = make_settings()
    if answer is not None:
        router.get(IMAGE).mock(side_effect=[answer])
    clock = FakeClock()
    async with build_http_client(settings) as http:
        with pytest.raises(UpstreamError) as caught:
            await follower(http, settings, clock).follow(
                ImageLink(url), WAVESPEED, TOKEN, clock() + 60, "m"
            )
    assert phrase in caught.value.message
