"""The client end to end against a stand-in of the real router (respx): route to PNG."""

import base64
import io
import json
import logging
import random
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx
from PIL import Image

from hf_text_to_image.access import TokenGrant
from hf_text_to_image.config import Settings
from hf_text_to_image.errors import (
    ForbiddenTargetError,
    InvalidInputError,
    UpstreamError,
    UpstreamFormatError,
)
from hf_text_to_image.huggingface import client as client_module
from hf_text_to_image.huggingface.client import HuggingFaceClient
from hf_text_to_image.huggingface.providers import hf_inference
from hf_text_to_image.inputs import JsonDescription

from .client_cases import (
    LEGACY_URL,
    MODEL,
    MODEL_PATH,
    MODEL_URL,
    NO_OPERATOR_TOKEN,
    REQUEST_ID,
    TOKEN,
    FakeSleep,
    describe,
    json_answer,
    make_client,
    png_answer,
    private_resolver,
)

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


# What comes back


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


@pytest.mark.anyio
@pytest.mark.parametrize(("side", "off_the_loop"), [(64, False), (640, True)])
async def test_large_answers_are_read_in_a_worker_thread(
    client: HuggingFaceClient,
    hf_api: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
    side: int,
    off_the_loop: bool,
) -> None:
    """Over 1 MB, parsing the JSON, decoding base64 and walking the PNG leave the loop."""
    noise = Image.frombytes("RGB", (side, side), random.Random(side).randbytes(side * side * 3))
    output = io.BytesIO()
    noise.save(output, format="PNG")
    png = output.getvalue()
    ran_in: list[threading.Thread] = []

    def recorded(work: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
        def run(data: bytes) -> Any:
            ran_in.append(threading.current_thread())
            return work(data)

        return run

    monkeypatch.setattr(hf_inference, "extract_image", recorded(hf_inference.extract_image))
    monkeypatch.setattr(client_module, "to_png", recorded(client_module.to_png))
    hf_api.post(MODEL_PATH).respond(200, json={"image": base64.b64encode(png).decode()})

    image = await client.generate(describe(), "A hummingbird", NO_OPERATOR_TOKEN)

    assert image.png.data == png
    assert len(ran_in) == 2
    loop_thread = threading.current_thread()
    assert all((thread is not loop_thread) is off_the_loop for thread in ran_in)
