"""The async Hugging Face client against a stand-in of the real router (respx)."""

import base64
import io
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import anyio
import httpx
import pytest
import respx
from PIL import Image

from hf_text_to_image.access import TokenGrant
from hf_text_to_image.config import Settings
from hf_text_to_image.errors import (
    ForbiddenTargetError,
    InvalidInputError,
    ModelLoadingError,
    UpstreamError,
    UpstreamFormatError,
    UpstreamTimeoutError,
)
from hf_text_to_image.huggingface.client import (
    ERROR_BODY_LIMIT,
    HuggingFaceClient,
    backoff_delay,
    retry_after_seconds,
)
from hf_text_to_image.inputs import JsonDescription
from hf_text_to_image.outbound import OutboundGuard, OutboundPolicy
from hf_text_to_image.runtime import build_http_client

TOKEN = "hf_SECRETtoken1234567890"
MODEL = "stabilityai/stable-diffusion-3-medium-diffusers"
ROUTER = "https://router.huggingface.co"
MODEL_PATH = f"/hf-inference/models/{MODEL}"
MODEL_URL = ROUTER + MODEL_PATH
LEGACY_URL = f"https://api-inference.huggingface.co/models/{MODEL}"
PUBLIC_ADDRESS = "93.184.216.34"
REQUEST_ID = "Root=1-67ab12cd-0123456789abcdef01234567"
# The callers here bring their own token: the operator's is not theirs to use.
NO_OPERATOR_TOKEN = TokenGrant(operator_token=None)


class FakeSleep:
    """Records each delay and returns at once; advances a fake clock when given one."""

    def __init__(self, clock: "FakeClock | None" = None) -> None:
        self.delays: list[float] = []
        self._clock = clock

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        if self._clock is not None:
            self._clock.now += delay


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def public_resolver(host: str, port: int) -> list[str]:
    return [PUBLIC_ADDRESS]


async def private_resolver(host: str, port: int) -> list[str]:
    return ["10.0.0.5"]


def describe(**fields: Any) -> JsonDescription:
    values: dict[str, Any] = {"api_token": TOKEN, "model": MODEL}
    values.update(fields)
    if "api_url" in fields:
        values.pop("model")
    return JsonDescription.model_validate(values)


def png_answer(png: bytes, **headers: str) -> httpx.Response:
    return httpx.Response(200, content=png, headers={"content-type": "image/png", **headers})


def json_answer(status: int, document: Any, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=document, headers=headers)


@pytest.fixture
def hf_api() -> Iterator[respx.MockRouter]:
    # The "httpx" mocker intercepts at the client, whatever its transport (aiohttp's here).
    with respx.mock(base_url=ROUTER, assert_all_called=False, using="httpx") as router:
        yield router


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(hf_max_attempts=4, hf_max_backoff=10, hf_retry_deadline=300)


@pytest.fixture
async def http(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with build_http_client(settings) as client:
        yield client


@pytest.fixture
def sleep() -> FakeSleep:
    return FakeSleep()


def make_client(
    http: httpx.AsyncClient,
    settings: Settings,
    sleep: FakeSleep,
    *,
    resolver: Callable[[str, int], Any] = public_resolver,
    clock: Callable[[], float] | None = None,
) -> HuggingFaceClient:
    guard = OutboundGuard(OutboundPolicy.from_settings(settings), resolver)
    extra: dict[str, Any] = {"clock": clock} if clock else {}
    return HuggingFaceClient(http, settings, guard, sleep=sleep, jitter=lambda: 0.0, **extra)


@pytest.fixture
def client(http: httpx.AsyncClient, settings: Settings, sleep: FakeSleep) -> HuggingFaceClient:
    return make_client(http, settings, sleep)


# Success


@pytest.mark.anyio
async def test_generate_png(
    client: HuggingFaceClient, hf_api: respx.MockRouter, sleep: FakeSleep, png_bytes: bytes
) -> None:
    route = hf_api.post(MODEL_PATH).mock(
        return_value=png_answer(png_bytes, **{"x-request-id": REQUEST_ID})
    )

    image = await client.generate(
        describe(parameters={"width": 512}), "A hummingbird", NO_OPERATOR_TOKEN
    )

    assert image.png.data == png_bytes
    assert (image.png.width, image.png.height, image.png.source_format) == (64, 48, "png")
    assert image.model == MODEL
    assert image.parameters == {"width": 512}
    assert image.attempts == 1
    assert image.request_id == REQUEST_ID
    assert image.upstream_seconds >= 0
    assert route.call_count == 1
    assert sleep.delays == []


@pytest.mark.anyio
async def test_generate_jpeg_converted(
    client: HuggingFaceClient, hf_api: respx.MockRouter, jpeg_bytes: bytes
) -> None:
    # hf-inference answers JPEG even when asked for PNG (HF_API.md section 5).
    hf_api.post(MODEL_PATH).respond(200, content=jpeg_bytes, headers={"content-type": "image/jpeg"})

    image = await client.generate(describe(), "A hummingbird", NO_OPERATOR_TOKEN)

    assert image.png.source_format == "jpeg"
    with Image.open(io.BytesIO(image.png.data)) as picture:
        assert picture.format == "PNG"
        assert picture.size == (64, 48)


@pytest.mark.anyio
async def test_generate_json_base64_answer(
    client: HuggingFaceClient, hf_api: respx.MockRouter, png_bytes: bytes
) -> None:
    hf_api.post(MODEL_PATH).respond(200, json={"image": base64.b64encode(png_bytes).decode()})

    image = await client.generate(describe(), "A hummingbird", NO_OPERATOR_TOKEN)

    assert image.png.data == png_bytes


@pytest.mark.anyio
async def test_generate_sends_exact_request(
    client: HuggingFaceClient, hf_api: respx.MockRouter, png_bytes: bytes
) -> None:
    route = hf_api.post(MODEL_PATH).mock(return_value=png_answer(png_bytes))
    prompt = 'Un colibri "majestueux" \\ 🐦\n一只蜂鸟'

    await client.generate(
        describe(parameters={"negative_prompt": "blurry", "seed": 7}, use_cache=False),
        prompt,
        NO_OPERATOR_TOKEN,
    )

    request = route.calls.last.request
    assert request.method == "POST"
    assert request.url == MODEL_URL
    assert request.content == json.dumps(
        {"inputs": prompt, "parameters": {"negative_prompt": "blurry", "seed": 7}},
        ensure_ascii=False,
    ).encode("utf-8")
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["accept"] == "image/png"
    assert request.headers["x-use-cache"] == "false"
    assert "x-wait-for-model" not in request.headers


@pytest.mark.anyio
async def test_generate_legacy_url_rewritten_and_logged_once(
    client: HuggingFaceClient,
    hf_api: respx.MockRouter,
    png_bytes: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    route = hf_api.post(MODEL_PATH).mock(return_value=png_answer(png_bytes))
    caplog.set_level(logging.WARNING, logger="hf_text_to_image")

    await client.generate(describe(api_url=LEGACY_URL), "A cat", NO_OPERATOR_TOKEN)
    await client.generate(describe(api_url=LEGACY_URL), "A dog", NO_OPERATOR_TOKEN)

    assert route.call_count == 2
    warnings = [record for record in caplog.records if "is retired" in record.getMessage()]
    assert len(warnings) == 1
    assert MODEL_URL in warnings[0].getMessage()


@pytest.mark.anyio
async def test_generate_default_token_used(
    http: httpx.AsyncClient,
    make_settings: Callable[..., Settings],
    sleep: FakeSleep,
    hf_api: respx.MockRouter,
    png_bytes: bytes,
) -> None:
    settings = make_settings(hf_token="hf_OPERATORtoken0987654321")
    route = hf_api.post(MODEL_PATH).mock(return_value=png_answer(png_bytes))

    await make_client(http, settings, sleep).generate(
        JsonDescription.model_validate({"model": MODEL}),
        "A cat",
        TokenGrant.for_engine_task(settings.hf_token),
    )

    assert route.calls.last.request.headers["authorization"] == "Bearer hf_OPERATORtoken0987654321"


@pytest.mark.anyio
async def test_generate_no_token_refused_before_calling(
    client: HuggingFaceClient, hf_api: respx.MockRouter
) -> None:
    route = hf_api.post(MODEL_PATH)

    with pytest.raises(InvalidInputError, match="no api_token"):
        await client.generate(
            JsonDescription.model_validate({"model": MODEL}), "A cat", NO_OPERATOR_TOKEN
        )

    assert route.call_count == 0


@pytest.mark.anyio
async def test_generate_private_address_refused_before_calling(
    http: httpx.AsyncClient, settings: Settings, sleep: FakeSleep, hf_api: respx.MockRouter
) -> None:
    route = hf_api.post(MODEL_PATH)
    client = make_client(http, settings, sleep, resolver=private_resolver)

    with pytest.raises(ForbiddenTargetError, match=r"non-public address \(10\.0\.0\.5\)") as caught:
        await client.generate(describe(), "A cat", NO_OPERATOR_TOKEN)

    assert route.call_count == 0
    # Only `model` was given: the refusal names the URL built for it, not api_url.
    assert caught.value.message.startswith(
        f"the URL for model {MODEL} (built from HF_MODEL_BASE_URL): router.huggingface.co "
    )


@pytest.mark.anyio
async def test_generate_host_not_allowed_refused(
    client: HuggingFaceClient, hf_api: respx.MockRouter
) -> None:
    route = hf_api.post("https://example.com/generate")

    with pytest.raises(ForbiddenTargetError, match="not an allowed host"):
        await client.generate(
            describe(api_url="https://example.com/generate"), "A cat", NO_OPERATOR_TOKEN
        )

    assert route.call_count == 0


# Retries


@pytest.mark.anyio
async def test_generate_model_loading_retried_with_wait_for_model(
    client: HuggingFaceClient, hf_api: respx.MockRouter, sleep: FakeSleep, png_bytes: bytes
) -> None:
    loading = {"error": f"Model {MODEL} is currently loading", "estimated_time": 20.0}
    route = hf_api.post(MODEL_PATH).mock(
        side_effect=[json_answer(503, loading), png_answer(png_bytes)]
    )

    image = await client.generate(describe(), "A cat", NO_OPERATOR_TOKEN)

    assert image.attempts == 2
    assert route.call_count == 2
    first, second = (call.request for call in route.calls)
    assert "x-wait-for-model" not in first.headers
    assert second.headers["x-wait-for-model"] == "true"
    # The server waits for the model: the client pauses only briefly (first backoff, 0.5 s).
    assert sleep.delays == [0.5]


@pytest.mark.anyio
async def test_generate_plain_503_retried_without_wait_for_model(
    client: HuggingFaceClient, hf_api: respx.MockRouter, sleep: FakeSleep, png_bytes: bytes
) -> None:
    route = hf_api.post(MODEL_PATH).mock(
        side_effect=[httpx.Response(503, text="Service Unavailable"), png_answer(png_bytes)]
    )

    await client.generate(describe(), "A cat", NO_OPERATOR_TOKEN)

    assert "x-wait-for-model" not in route.calls.last.request.headers
    assert sleep.delays == [0.5]


@pytest.mark.anyio
async def test_generate_model_loading_forever_gives_up(
    client: HuggingFaceClient, hf_api: respx.MockRouter, sleep: FakeSleep
) -> None:
    loading = {"error": f"Model {MODEL} is currently loading", "estimated_time": 2315.18}
    route = hf_api.post(MODEL_PATH).mock(return_value=json_answer(503, loading))

    with pytest.raises(ModelLoadingError) as caught:
        await client.generate(describe(), "A cat", NO_OPERATOR_TOKEN)

    assert route.call_count == 4
    assert sleep.delays == [0.5, 1.0, 2.0]
    assert caught.value.status_code == 503
    assert caught.value.http_status == 503
    assert "is still loading or unavailable (503)" in caught.value.message
    assert "currently loading" in caught.value.message
    assert caught.value.message.endswith("(gave up after 4 attempts)")


@pytest.mark.anyio
async def test_generate_429_retry_after_honoured(
    client: HuggingFaceClient, hf_api: respx.MockRouter, sleep: FakeSleep, png_bytes: bytes
) -> None:
    route = hf_api.post(MODEL_PATH).mock(
        side_effect=[
            json_answer(429, {"error": "Rate limit reached"}, **{"retry-after": "7"}),
            png_answer(png_bytes),
        ]
    )

    image = await client.generate(describe(), "A cat", NO_OPERATOR_TOKEN)

    assert image.attempts == 2
    assert route.call_count == 2
    assert sleep.delays == [7.0]


@pytest.mark.anyio
async def test_generate_429_retry_after_date_honoured(
    client: HuggingFaceClient, hf_api: respx.MockRouter, sleep: FakeSleep, png_bytes: bytes
) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    hf_api.post(MODEL_PATH).mock(
        side_effect=[httpx.Response(429, headers={"retry-after": when}), png_answer(png_bytes)]
    )

    await client.generate(describe(), "A cat", NO_OPERATOR_TOKEN)

    assert len(sleep.delays) == 1
    assert 18 < sleep.delays[0] <= 20


@pytest.mark.anyio
async def test_generate_429_without_retry_after_backs_off(
    client: HuggingFaceClient, hf_api: respx.MockRouter, sleep: FakeSleep, png_bytes: bytes
) -> None:
    limited = json_answer(429, {"error": "Rate limit reached"})
    route = hf_api.post(MODEL_PATH).mock(
        side_effect=[limited, limited, limited, png_answer(png_bytes)]
    )

    image = await client.generate(describe(), "A cat", NO_OPERATOR_TOKEN)

    assert image.attempts == 4
    assert route.call_count == 4
    assert sleep.delays == [0.5, 1.0, 2.0]


@pytest.mark.anyio
async def test_generate_backoff_capped(
    http: httpx.AsyncClient,
    make_settings: Callable[..., Settings],
    sleep: FakeSleep,
    hf_api: respx.MockRouter,
) -> None:
    settings = make_settings(hf_max_attempts=6, hf_max_backoff=3, hf_retry_deadline=300)
    hf_api.post(MODEL_PATH).respond(502, text="Bad Gateway")

    with pytest.raises(UpstreamError):
        await make_client(http, settings, sleep).generate(describe(), "A cat", NO_OPERATOR_TOKEN)

    assert sleep.delays == [0.5, 1.0, 1.5, 1.5, 1.5]


@pytest.mark.anyio
async def test_generate_server_errors_then_success(
    client: HuggingFaceClient, hf_api: respx.MockRouter, sleep: FakeSleep, png_bytes: bytes
) -> None:
    route = hf_api.post(MODEL_PATH).mock(
        side_effect=[
            httpx.Response(502, text="<html><body>502 Bad Gateway</body></html>"),
            httpx.Response(504, text="Gateway Timeout"),
            json_answer(
                500, {"error": "Model too busy, unable to get response in less than 120 second(s)"}
            ),
            png_answer(png_bytes),
        ]
    )

    image = await client.generate(describe(), "A cat", NO_OPERATOR_TOKEN)

    assert image.attempts == 4
    assert image.png.data == png_bytes
    assert route.call_count == 4
    assert sleep.delays == [0.5, 1.0, 2.0]


@pytest.mark.parametrize(
    "error", [httpx.ConnectError("Connection refused"), httpx.ConnectTimeout("timed out")]
)
@pytest.mark.anyio
async def test_generate_connection_error_retried(
    client: HuggingFaceClient,
    hf_api: respx.MockRouter,
    sleep: FakeSleep,
    png_bytes: bytes,
    error: httpx.TransportError,
) -> None:
    route = hf_api.post(MODEL_PATH).mock(side_effect=[error, png_answer(png_bytes)])

    image = await client.generate(describe(), "A cat", NO_OPERATOR_TOKEN)

    assert image.attempts == 2
    assert route.call_count == 2
    assert sleep.delays == [0.5]


@pytest.mark.anyio
async def test_generate_connection_error_gives_up(
    client: HuggingFaceClient, hf_api: respx.MockRouter
) -> None:
    route = hf_api.post(MODEL_PATH).mock(side_effect=httpx.ConnectError("Connection refused"))

    with pytest.raises(UpstreamError) as caught:
        await client.generate(describe(), "A cat", NO_OPERATOR_TOKEN)

    assert route.call_count == 4
    assert caught.value.message == (
        "The connection to router.huggingface.co failed (ConnectError); try again later. "
        "(gave up after 4 attempts)"
    )


@pytest.mark.anyio
async def test_generate_connect_timeout_gives_up(
    client: HuggingFaceClient, hf_api: respx.MockRouter
) -> None:
    hf_api.post(MODEL_PATH).mock(side_effect=httpx.ConnectTimeout("timed out"))

    with pytest.raises(UpstreamError) as caught:
        await client.generate(describe(), "A cat", NO_OPERATOR_TOKEN)

    assert not isinstance(caught.value, UpstreamTimeoutError)
    assert caught.value.message.startswith(
        "Could not connect to router.huggingface.co within 10 seconds."
    )


@pytest.mark.parametrize(
    ("status", "body", "phrase"),
    [
        (400, {"error": "Input validation error"}, "check the parameters"),
        (401, {"error": "Invalid credentials in Authorization header"}, "check api_token"),
        (402, {"error": "You have exceeded your monthly included credits"}, "credits are used up"),
        (
            403,
            {"error": "This authentication method does not have sufficient permissions"},
            "'Make calls to Inference Providers' permission",
        ),
        (404, {"error": "Model not found"}, "is not served at this URL (404)"),
        (410, {"error": "The requested model is deprecated"}, "is not served at this URL (410)"),
        (422, {"error": "inputs: field required"}, "check the parameters"),
    ],
)
@pytest.mark.anyio
async def test_generate_client_error_not_retried(
    client: HuggingFaceClient,
    hf_api: respx.MockRouter,
    sleep: FakeSleep,
    status: int,
    body: dict[str, str],
    phrase: str,
) -> None:
    route = hf_api.post(MODEL_PATH).mock(
        return_value=json_answer(status, body, **{"x-request-id": REQUEST_ID})
    )

    with pytest.raises(UpstreamError) as caught:
        await client.generate(describe(), "A cat", NO_OPERATOR_TOKEN)

    assert route.call_count == 1
    assert sleep.delays == []
    assert type(caught.value) is UpstreamError
    assert caught.value.status_code == status
    assert phrase in caught.value.message
    assert body["error"] in caught.value.message
    assert REQUEST_ID in caught.value.message
    assert "gave up" not in caught.value.message


@pytest.mark.anyio
async def test_generate_attempts_bounded_by_setting(
    http: httpx.AsyncClient,
    make_settings: Callable[..., Settings],
    sleep: FakeSleep,
    hf_api: respx.MockRouter,
) -> None:
    settings = make_settings(hf_max_attempts=2, hf_max_backoff=10)
    route = hf_api.post(MODEL_PATH).respond(500, json={"error": "Internal error"})

    with pytest.raises(UpstreamError) as caught:
        await make_client(http, settings, sleep).generate(describe(), "A cat", NO_OPERATOR_TOKEN)

    assert route.call_count == 2
    assert sleep.delays == [0.5]
    assert caught.value.status_code == 500
    assert caught.value.message == (
        'The inference API failed (500): try again later. The API said: "Internal error". '
        "(gave up after 2 attempts)"
    )


@pytest.mark.anyio
async def test_generate_single_attempt_setting(
    http: httpx.AsyncClient,
    make_settings: Callable[..., Settings],
    sleep: FakeSleep,
    hf_api: respx.MockRouter,
) -> None:
    settings = make_settings(hf_max_attempts=1)
    route = hf_api.post(MODEL_PATH).respond(503, json={"error": "loading", "estimated_time": 5})

    with pytest.raises(ModelLoadingError) as caught:
        await make_client(http, settings, sleep).generate(describe(), "A cat", NO_OPERATOR_TOKEN)

    assert route.call_count == 1
    assert sleep.delays == []
    assert caught.value.message.endswith("(gave up after 1 attempt)")


@pytest.mark.anyio
async def test_generate_retry_after_past_deadline_gives_up(
    http: httpx.AsyncClient,
    make_settings: Callable[..., Settings],
    sleep: FakeSleep,
    hf_api: respx.MockRouter,
) -> None:
    settings = make_settings(hf_retry_deadline=5, hf_max_attempts=4)
    route = hf_api.post(MODEL_PATH).mock(
        return_value=json_answer(429, {"error": "Rate limit reached"}, **{"retry-after": "3600"})
    )

    with pytest.raises(UpstreamError) as caught:
        await make_client(http, settings, sleep).generate(describe(), "A cat", NO_OPERATOR_TOKEN)

    assert route.call_count == 1
    assert sleep.delays == []
    assert caught.value.status_code == 429
    assert "rate-limiting these requests (429)" in caught.value.message
    assert caught.value.message.endswith("(gave up after 1 attempt)")


@pytest.mark.anyio
async def test_generate_never_sleeps_past_deadline(
    http: httpx.AsyncClient,
    make_settings: Callable[..., Settings],
    hf_api: respx.MockRouter,
) -> None:
    clock = FakeClock()
    sleep = FakeSleep(clock)
    settings = make_settings(hf_retry_deadline=10, hf_max_attempts=20, hf_max_backoff=30)
    route = hf_api.post(MODEL_PATH).respond(502, text="Bad Gateway")

    with pytest.raises(UpstreamError) as caught:
        await make_client(http, settings, sleep, clock=clock).generate(
            describe(), "A cat", NO_OPERATOR_TOKEN
        )

    # 0.5 + 1 + 2 + 4 = 7.5 s slept; the next 8 s would end past the 10 s deadline.
    assert sleep.delays == [0.5, 1.0, 2.0, 4.0]
    assert route.call_count == 5
    assert sum(sleep.delays) < 10
    assert caught.value.message.endswith("(gave up after 5 attempts)")


@pytest.mark.anyio
async def test_generate_hanging_upstream_cut_at_deadline(
    http: httpx.AsyncClient,
    make_settings: Callable[..., Settings],
    sleep: FakeSleep,
    hf_api: respx.MockRouter,
) -> None:
    settings = make_settings(hf_retry_deadline=0.05)

    async def hang(request: httpx.Request) -> httpx.Response:
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    hf_api.post(MODEL_PATH).mock(side_effect=hang)

    with pytest.raises(UpstreamTimeoutError) as caught:
        await make_client(http, settings, sleep).generate(describe(), "A cat", NO_OPERATOR_TOKEN)

    assert caught.value.message == (
        "The inference API did not produce an image within 0.05 seconds."
    )
    assert caught.value.http_status == 504


@pytest.mark.anyio
async def test_generate_read_timeout(
    http: httpx.AsyncClient,
    make_settings: Callable[..., Settings],
    sleep: FakeSleep,
    hf_api: respx.MockRouter,
) -> None:
    settings = make_settings(hf_read_timeout=7.5)
    route = hf_api.post(MODEL_PATH).mock(side_effect=httpx.ReadTimeout("timed out"))

    with pytest.raises(UpstreamTimeoutError) as caught:
        await make_client(http, settings, sleep).generate(describe(), "A cat", NO_OPERATOR_TOKEN)

    assert route.call_count == 1
    assert sleep.delays == []
    assert caught.value.message == (
        "The inference API did not answer within 7.5 seconds; the model may be overloaded, "
        "try again later."
    )
    assert caught.value.http_status == 504


# What comes back


@pytest.mark.anyio
async def test_generate_declared_oversize_body_refused(
    http: httpx.AsyncClient,
    make_settings: Callable[..., Settings],
    sleep: FakeSleep,
    hf_api: respx.MockRouter,
    png_bytes: bytes,
) -> None:
    settings = make_settings(max_response_bytes=2048)
    route = hf_api.post(MODEL_PATH).respond(200, content=png_bytes + b"\x00" * 3000)
    assert int(route.return_value.headers["content-length"]) > 2048

    with pytest.raises(UpstreamFormatError) as caught:
        await make_client(http, settings, sleep).generate(describe(), "A cat", NO_OPERATOR_TOKEN)

    assert caught.value.message == "The API's answer is larger than the limit of 2048 bytes."
    assert route.call_count == 1


@pytest.mark.anyio
async def test_generate_streamed_oversize_body_refused(
    http: httpx.AsyncClient,
    make_settings: Callable[..., Settings],
    sleep: FakeSleep,
    hf_api: respx.MockRouter,
) -> None:
    settings = make_settings(max_response_bytes=2048)
    sent: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        for index in range(100):
            sent.append(index)
            yield b"\x89PNG\r\n\x1a\n" + b"x" * 504

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=chunks())

    hf_api.post(MODEL_PATH).mock(side_effect=answer)

    with pytest.raises(UpstreamFormatError, match="larger than the limit of 2048 bytes"):
        await make_client(http, settings, sleep).generate(describe(), "A cat", NO_OPERATOR_TOKEN)

    # Reading stopped soon after the limit, not at the end of the stream.
    assert len(sent) < 10


@pytest.mark.anyio
async def test_generate_large_error_body_cut_not_refused(
    client: HuggingFaceClient, hf_api: respx.MockRouter
) -> None:
    body = json.dumps({"error": "x" * (2 * ERROR_BODY_LIMIT)}).encode()
    hf_api.post(MODEL_PATH).respond(400, content=body)

    with pytest.raises(UpstreamError) as caught:
        await client.generate(describe(), "A cat", NO_OPERATOR_TOKEN)

    assert caught.value.status_code == 400
    assert "check the parameters" in caught.value.message


@pytest.mark.anyio
async def test_generate_redirect_not_followed(
    client: HuggingFaceClient, hf_api: respx.MockRouter
) -> None:
    route = hf_api.post(MODEL_PATH).respond(302, headers={"location": "https://evil.example/x"})
    elsewhere = hf_api.route(host="evil.example")

    with pytest.raises(UpstreamError) as caught:
        await client.generate(describe(), "A cat", NO_OPERATOR_TOKEN)

    assert route.call_count == 1
    assert elsewhere.call_count == 0
    assert caught.value.status_code == 302
    assert caught.value.message == (
        "The API answered with a redirect to evil.example (302); redirects are not followed: "
        "put the final URL in api_url."
    )


@pytest.mark.parametrize(
    ("status", "location"),
    [(307, None), (300, "http://a:abc/")],  # no Location; one httpx cannot parse
)
@pytest.mark.anyio
async def test_generate_redirect_without_usable_location(
    client: HuggingFaceClient, hf_api: respx.MockRouter, status: int, location: str | None
) -> None:
    headers = {"location": location} if location else {}
    route = hf_api.post(MODEL_PATH).respond(status, headers=headers)

    with pytest.raises(UpstreamError) as caught:
        await client.generate(describe(), "A cat", NO_OPERATOR_TOKEN)

    assert route.call_count == 1
    assert caught.value.status_code == status
    assert caught.value.message.startswith(f"The API answered with a redirect ({status});")


@pytest.mark.anyio
async def test_generate_error_on_200_not_retried(
    client: HuggingFaceClient, hf_api: respx.MockRouter
) -> None:
    route = hf_api.post(MODEL_PATH).respond(200, json={"error": "CUDA out of memory"})

    with pytest.raises(UpstreamError) as caught:
        await client.generate(describe(), "A cat", NO_OPERATOR_TOKEN)

    assert route.call_count == 1
    assert caught.value.message == "The API answered 200 with an error: CUDA out of memory"


@pytest.mark.anyio
async def test_generate_html_on_200_refused(
    client: HuggingFaceClient, hf_api: respx.MockRouter
) -> None:
    hf_api.post(MODEL_PATH).respond(200, html="<html><body>Loading...</body></html>")

    with pytest.raises(UpstreamFormatError, match="an HTML page instead of an image"):
        await client.generate(describe(), "A cat", NO_OPERATOR_TOKEN)


# The token stays secret


@pytest.mark.anyio
async def test_generate_token_never_shown(
    client: HuggingFaceClient,
    hf_api: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    echo = f"Authorization header 'Bearer {TOKEN}' is invalid for token {TOKEN}"
    hf_api.post(MODEL_PATH).mock(
        side_effect=[
            json_answer(500, {"error": echo}, **{"x-request-id": f"id-{TOKEN}"}),
            httpx.Response(429, text=echo, headers={"x-error-message": echo}),
            json_answer(401, {"error": echo}),
        ]
    )

    with pytest.raises(UpstreamError) as caught:
        await client.generate(describe(), "A cat", NO_OPERATOR_TOKEN)

    assert caught.value.status_code == 401
    assert "is invalid for token ***" in caught.value.message
    assert TOKEN not in caught.value.message
    assert TOKEN not in str(caught.value)
    assert "attempt 2/4" in caplog.text
    assert TOKEN not in caplog.text


@pytest.mark.anyio
async def test_generate_token_not_logged_on_success(
    client: HuggingFaceClient,
    hf_api: respx.MockRouter,
    png_bytes: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    hf_api.post(MODEL_PATH).mock(
        side_effect=[httpx.ConnectError("Connection reset"), png_answer(png_bytes)]
    )

    await client.generate(describe(api_url=LEGACY_URL), "A cat", NO_OPERATOR_TOKEN)

    assert "failed (ConnectError)" in caplog.text
    assert TOKEN not in caplog.text


# Pure helpers


@pytest.mark.parametrize(
    ("attempt", "jitter", "expected"),
    [(1, 0.0, 0.5), (1, 1.0, 1.0), (2, 0.0, 1.0), (3, 0.5, 3.0), (10, 0.0, 15.0), (10, 1.0, 30.0)],
)
def test_backoff_delay(attempt: int, jitter: float, expected: float) -> None:
    assert backoff_delay(attempt, 30.0, jitter) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12", 12.0),
        ("0.5", 0.5),
        ("-4", 0.0),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),
        ("Wed, 21 Oct 2015 07:28:45 -0000", 45.0),  # no zone: taken as UTC
        ("soon", None),
        ("", None),
    ],
)
def test_retry_after_seconds(value: str, expected: float | None) -> None:
    now = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC)

    assert retry_after_seconds({"retry-after": value}, now) == expected


def test_retry_after_seconds_absent() -> None:
    assert retry_after_seconds({}, datetime.now(UTC)) is None
