"""One upstream exchange: the size cap on answers, error bodies cut short."""

import json
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
import respx

from hf_text_to_image.config import Settings
from hf_text_to_image.errors import (
    UpstreamError,
    UpstreamFormatError,
)
from hf_text_to_image.huggingface.client import HuggingFaceClient
from hf_text_to_image.huggingface.upstream import ERROR_BODY_LIMIT

from .client_cases import (
    MODEL_PATH,
    NO_OPERATOR_TOKEN,
    FakeSleep,
    describe,
    make_client,
)

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
