"""The storage_url form against a stand-in of the engine's storage (respx): every answer."""

import httpx
import pytest
import respx

from hf_text_to_image.engine.storage import EngineHttpStorage
from hf_text_to_image.errors import StorageError

STORAGE = "http://engine.test/storage"


def storage(http: httpx.AsyncClient) -> EngineHttpStorage:
    return EngineHttpStorage(http, STORAGE + "/", timeout=5)


@pytest.mark.anyio
@respx.mock
async def test_get_reads_the_key_quoted_and_put_posts_the_file() -> None:
    read = respx.get(f"{STORAGE}/a%2Fb%20c.json").respond(200, content=b"{}")
    stored = respx.post(STORAGE).respond(200, json={"key": "k1.png"})
    async with httpx.AsyncClient() as http:
        assert await storage(http).get("a/b c.json", max_bytes=10) == b"{}"
        assert await storage(http).put(b"PNG", filename="r.png", content_type="image/png") == (
            "k1.png"
        )
    assert read.called
    sent = stored.calls.last.request
    assert b'filename="r.png"' in sent.content
    assert b"Content-Type: image/png" in sent.content


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("answer", "phrase"),
    [
        (httpx.Response(404), "is not in the engine's storage (404)"),
        (httpx.Response(500), "The engine's storage answered 500"),
        (httpx.Response(200, content=b"x" * 11), "is larger than 10 bytes"),
        (httpx.ConnectError("down"), "could not be reached to read k (ConnectError)"),
    ],
)
@respx.mock
async def test_get_failures_name_the_file(answer: httpx.Response | Exception, phrase: str) -> None:
    respx.get(f"{STORAGE}/k").mock(side_effect=[answer])
    async with httpx.AsyncClient() as http:
        with pytest.raises(StorageError) as caught:
            await storage(http).get("k", max_bytes=10)
    assert phrase in caught.value.message


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("answer", "phrase"),
    [
        (httpx.Response(500), "refused the result (500)"),
        (httpx.Response(200, text="no json"), "without the stored file's key"),
        (httpx.Response(200, json={"id": 1}), "without the stored file's key"),
        (httpx.Response(200, json={"key": ""}), "an empty key"),
        (httpx.ReadTimeout("slow"), "could not be reached to store the result (ReadTimeout)"),
    ],
)
@respx.mock
async def test_put_failures_say_what_the_storage_did(
    answer: httpx.Response | Exception, phrase: str
) -> None:
    respx.post(STORAGE).mock(side_effect=[answer])
    async with httpx.AsyncClient() as http:
        with pytest.raises(StorageError) as caught:
            await storage(http).put(b"PNG", filename="r.png", content_type="image/png")
    assert phrase in caught.value.message
