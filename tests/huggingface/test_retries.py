"""Retries of the inference request: what is retried, how long it waits, when it gives up."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import anyio
import httpx
import pytest
import respx

from hf_text_to_image.config import Settings
from hf_text_to_image.errors import (
    ModelLoadingError,
    UpstreamError,
    UpstreamTimeoutError,
)
from hf_text_to_image.huggingface.client import HuggingFaceClient
from hf_text_to_image.huggingface.retries import retry_after_seconds

from .client_cases import (
    MODEL,
    MODEL_PATH,
    NO_OPERATOR_TOKEN,
    REQUEST_ID,
    FakeClock,
    FakeSleep,
    describe,
    json_answer,
    make_client,
    png_answer,
)

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


# Redirects


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


# Retry-After


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
