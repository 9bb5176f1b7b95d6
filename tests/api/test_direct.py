"""The direct endpoint in-process: the app over ASGI, with respx standing in for Hugging Face."""

import base64
import io
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio
import httpx
import pytest
import respx
from conftest import make_image, without_provenance
from fastapi import FastAPI
from PIL import Image
from standins.asgi import serve

from hf_text_to_image.api.direct import prefers_json
from hf_text_to_image.config import Settings
from hf_text_to_image.main import create_app

TOKEN = "hf_SECRETtoken1234567890"
MODEL = "stabilityai/stable-diffusion-3-medium-diffusers"
ROUTER = "https://router.huggingface.co"
MODEL_PATH = f"/hf-inference/models/{MODEL}"
REQUEST_ID = "Root=1-67ab12cd-0123456789abcdef01234567"
DESCRIPTION = {"api_token": TOKEN, "model": MODEL}


async def public_resolver(host: str, port: int) -> list[str]:
    return ["93.184.216.34"]


@pytest.fixture
def hf_api() -> Iterator[respx.MockRouter]:
    # The "httpx" mocker intercepts at the client, whatever its transport (the service's is
    # aiohttp's); the test client's own requests to the app pass through to it.
    with respx.mock(base_url=ROUTER, assert_all_called=False, using="httpx") as router:
        router.route(host="testserver").pass_through()
        yield router


@pytest.fixture
def make_app(make_settings: Callable[..., Settings]) -> Callable[..., FastAPI]:
    def factory(**overrides: Any) -> FastAPI:
        values: dict[str, Any] = {"hf_max_backoff": 0, "hf_max_attempts": 2}
        values.update(overrides)
        return create_app(make_settings(**values), resolver=public_resolver)

    return factory


@pytest.fixture
async def service(make_app: Callable[..., FastAPI]) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(make_app()) as client:
        yield client


def files(
    description: Any = DESCRIPTION, prompt: bytes | str = "A majestic hummingbird"
) -> dict[str, tuple[str, bytes | str, str]]:
    raw_description = description if isinstance(description, bytes) else json.dumps(description)
    raw_prompt = prompt.encode() if isinstance(prompt, str) else prompt
    return {
        "json_description": ("json_description.json", raw_description, "application/json"),
        "input_text": ("input_text.txt", raw_prompt, "text/plain"),
    }


# Success


@pytest.mark.anyio
async def test_process_png_out(
    service: httpx.AsyncClient, hf_api: respx.MockRouter, png_bytes: bytes
) -> None:
    route = hf_api.post(MODEL_PATH).respond(
        200, content=png_bytes, headers={"content-type": "image/png"}
    )

    response = await service.post("/process", files=files())

    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-upstream-attempts"] == "1"
    assert response.headers["x-model"] == MODEL
    assert response.headers["x-provider"] == "hf-inference"
    # The provider's PNG, untouched but for the provenance chunks.
    assert without_provenance(response.content) == png_bytes
    with Image.open(io.BytesIO(response.content)) as picture:
        assert (picture.format, picture.size) == ("PNG", (64, 48))
        assert picture.info["parameters"].startswith("A majestic hummingbird\nSeed: ")
    request = route.calls.last.request
    # No seed given: the service chose one, sent it and says which.
    seed = int(response.headers["x-seed"])
    assert json.loads(request.content) == {
        "inputs": "A majestic hummingbird",
        "parameters": {"seed": seed},
    }
    assert request.headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.anyio
async def test_process_jpeg_answer_converted(
    service: httpx.AsyncClient, hf_api: respx.MockRouter
) -> None:
    hf_api.post(MODEL_PATH).respond(200, content=make_image("JPEG", size=(96, 80)))

    response = await service.post("/process", files=files())

    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(response.content)) as picture:
        assert (picture.format, picture.size) == ("PNG", (96, 80))


@pytest.mark.anyio
async def test_process_json_when_asked(
    service: httpx.AsyncClient, hf_api: respx.MockRouter, png_bytes: bytes
) -> None:
    hf_api.post(MODEL_PATH).respond(200, content=png_bytes, headers={"x-request-id": REQUEST_ID})
    description = {**DESCRIPTION, "parameters": {"width": 512, "height": 512, "seed": 7}}

    response = await service.post(
        "/process", files=files(description), headers={"Accept": "application/json"}
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    answer = response.json()
    prefix = "data:image/png;base64,"
    assert answer["image"].startswith(prefix)
    assert without_provenance(base64.b64decode(answer["image"].removeprefix(prefix))) == png_bytes
    assert answer["model"] == MODEL
    assert (answer["seed"], response.headers["x-seed"]) == (7, "7")
    assert answer["parameters"] == {"width": 512, "height": 512, "seed": 7}
    assert (answer["width"], answer["height"]) == (64, 48)
    assert answer["source_format"] == "png"
    assert answer["attempts"] == 1
    assert answer["request_id"] == REQUEST_ID
    timings = answer["timings"]
    assert timings["total_seconds"] >= timings["upstream_seconds"] >= 0


@pytest.mark.anyio
async def test_process_png_when_json_ranked_lower(
    service: httpx.AsyncClient, hf_api: respx.MockRouter, png_bytes: bytes
) -> None:
    hf_api.post(MODEL_PATH).respond(200, content=png_bytes)

    response = await service.post(
        "/process", files=files(), headers={"Accept": "application/json;q=0.5, image/png"}
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"


@pytest.mark.anyio
async def test_process_retry_counted(
    service: httpx.AsyncClient, hf_api: respx.MockRouter, png_bytes: bytes
) -> None:
    hf_api.post(MODEL_PATH).mock(
        side_effect=[
            httpx.Response(502, text="Bad Gateway"),
            httpx.Response(200, content=png_bytes),
        ]
    )

    response = await service.post("/process", files=files())

    assert response.status_code == 200
    assert response.headers["x-upstream-attempts"] == "2"


@pytest.mark.anyio
async def test_process_unicode_prompt_sent_intact(
    service: httpx.AsyncClient, hf_api: respx.MockRouter, png_bytes: bytes
) -> None:
    route = hf_api.post(MODEL_PATH).respond(200, content=png_bytes)
    prompt = '一只蜂鸟 "colibrí" 🐦\nقطة'

    response = await service.post("/process", files=files(prompt=b"\xef\xbb\xbf" + prompt.encode()))

    assert response.status_code == 200
    assert json.loads(route.calls.last.request.content)["inputs"] == prompt


@pytest.mark.anyio
async def test_process_non_ascii_model_without_model_header(
    service: httpx.AsyncClient, hf_api: respx.MockRouter, png_bytes: bytes
) -> None:
    # HTTP header values are Latin-1 at best: a non-ASCII model id stays out of X-Model.
    route = hf_api.post(url__startswith=f"{ROUTER}/hf-inference/models/org/").respond(
        200, content=png_bytes
    )

    response = await service.post(
        "/process", files=files({"api_token": TOKEN, "model": "org/模型"})
    )

    assert response.status_code == 200
    assert "x-model" not in response.headers
    assert route.calls.last.request.url.path == "/hf-inference/models/org/模型"


# The caller's mistakes


@pytest.mark.parametrize(
    ("description", "prompt", "message"),
    [
        (b'{"api_token": "hf_x" "model": "a/b"}', "p", "json_description is not valid JSON ("),
        ({"api_token": TOKEN}, "p", "give api_url (the model's URL) or model"),
        ({**DESCRIPTION, "parameters": {"width": "512"}}, "p", "parameters.width"),
        ({**DESCRIPTION, "api_url": "https://x"}, "p", "not both"),
        ({"api_token": TOKEN, "api_url": "https://example.com/m"}, "p", "not an allowed host"),
        (
            {"api_token": TOKEN, "api_url": "http://router.huggingface.co/x"},
            "p",
            "the allowed schemes are https://",
        ),
        (DESCRIPTION, "   \n", "input_text is empty"),
        (DESCRIPTION, b"caf\xe9", "input_text is not UTF-8 text"),
    ],
)
@pytest.mark.anyio
async def test_process_bad_input_400(
    service: httpx.AsyncClient,
    hf_api: respx.MockRouter,
    description: Any,
    prompt: bytes | str,
    message: str,
) -> None:
    route = hf_api.post(MODEL_PATH)

    response = await service.post("/process", files=files(description, prompt))

    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert TOKEN not in response.text
    assert route.call_count == 0


@pytest.mark.anyio
async def test_process_oversize_description_400(
    make_app: Callable[..., FastAPI], hf_api: respx.MockRouter
) -> None:
    description = {**DESCRIPTION, "parameters": {"negative_prompt": "x" * 400}}

    async with serve(make_app(max_description_bytes=256)) as service:
        response = await service.post("/process", files=files(description))

    assert response.status_code == 400
    assert response.json()["detail"] == (
        "json_description is larger than the limit of 256 bytes (MAX_DESCRIPTION_BYTES)."
    )


@pytest.mark.anyio
async def test_process_oversize_prompt_400(
    make_app: Callable[..., FastAPI], hf_api: respx.MockRouter
) -> None:
    async with serve(make_app(max_prompt_length=10)) as service:
        too_long = await service.post("/process", files=files(prompt="x" * 11))
        way_too_long = await service.post("/process", files=files(prompt="x" * 1000))

    assert too_long.status_code == 400
    assert too_long.json()["detail"] == (
        "input_text is longer (11 characters) than the limit of 10 characters (MAX_PROMPT_LENGTH)."
    )
    assert way_too_long.status_code == 400
    assert way_too_long.json()["detail"] == (
        "input_text is longer than the limit of 10 characters (MAX_PROMPT_LENGTH)."
    )


CURL_FORM = "curl -F json_description=@desc.json -F input_text=@prompt.txt"


def text_fields_form(**fields: str) -> dict[str, object]:
    """A multipart body of text fields only, as `curl -F name=value` sends it."""
    parts = [
        f'--b\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    return {
        "content": ("".join(parts) + "--b--\r\n").encode(),
        "headers": {"Content-Type": "multipart/form-data; boundary=b"},
    }


@pytest.mark.anyio
async def test_process_missing_file_422(service: httpx.AsyncClient) -> None:
    response = await service.post(
        "/process",
        files={
            "json_description": ("d.json", json.dumps(DESCRIPTION).encode(), "application/json")
        },
    )

    assert response.status_code == 422
    assert response.json() == {
        "detail": f"The form has no input_text part: send both files ({CURL_FORM})."
    }


@pytest.mark.anyio
async def test_process_fields_as_text_not_files_422(service: httpx.AsyncClient) -> None:
    response = await service.post(
        "/process",
        **text_fields_form(json_description=json.dumps(DESCRIPTION), input_text="a cat"),  # type: ignore[arg-type]
    )

    assert response.status_code == 422
    assert response.json() == {
        "detail": "json_description and input_text were sent as a text field, not as a file: "
        f"put @ before the file name ({CURL_FORM})."
    }
    assert TOKEN not in response.text


@pytest.mark.anyio
async def test_process_one_text_field_and_one_missing_422(service: httpx.AsyncClient) -> None:
    response = await service.post("/process", **text_fields_form(input_text="a cat"))  # type: ignore[arg-type]

    assert response.json()["detail"] == (
        "input_text was sent as a text field, not as a file: put @ before the file name "
        f"({CURL_FORM}). The form has no json_description part: send both files ({CURL_FORM})."
    )


@pytest.mark.anyio
async def test_process_json_body_instead_of_a_form_422(service: httpx.AsyncClient) -> None:
    response = await service.post("/process", json=DESCRIPTION)
    urlencoded = await service.post("/process", data={"input_text": "a cat"})

    assert urlencoded.json()["detail"].startswith(
        "POST /process takes a multipart form with two files, not application/x-www-form-urlencoded"
    )
    assert response.status_code == 422
    assert response.json() == {
        "detail": "POST /process takes a multipart form with two files, not application/json: "
        f"{CURL_FORM}."
    }
    assert TOKEN not in response.text


# Upstream failures


@pytest.mark.anyio
async def test_process_upstream_401_is_502(
    service: httpx.AsyncClient, hf_api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    route = hf_api.post(MODEL_PATH).respond(
        401,
        json={"error": f"Invalid credentials in Authorization header (Bearer {TOKEN})"},
        headers={"x-request-id": REQUEST_ID},
    )

    response = await service.post("/process", files=files())

    assert response.status_code == 502
    detail = response.json()["detail"]
    assert "Hugging Face refused the access token (401): check api_token" in detail
    assert "Invalid credentials in Authorization header" in detail
    assert REQUEST_ID in detail
    assert route.call_count == 1
    assert TOKEN not in response.text
    assert TOKEN not in caplog.text


@pytest.mark.anyio
async def test_process_upstream_html_on_200_is_502(
    service: httpx.AsyncClient, hf_api: respx.MockRouter
) -> None:
    hf_api.post(MODEL_PATH).respond(200, html="<html><body>Maintenance</body></html>")

    response = await service.post("/process", files=files())

    assert response.status_code == 502
    assert response.json()["detail"] == "The API answered with an HTML page instead of an image."


@pytest.mark.anyio
async def test_process_upstream_timeout_is_504(
    make_app: Callable[..., FastAPI], hf_api: respx.MockRouter
) -> None:
    hf_api.post(MODEL_PATH).mock(side_effect=httpx.ReadTimeout("timed out"))

    async with serve(make_app(hf_read_timeout=42)) as service:
        response = await service.post("/process", files=files())

    assert response.status_code == 504
    assert "did not answer within 42 seconds" in response.json()["detail"]


@pytest.mark.anyio
async def test_process_model_loading_forever_is_503(
    service: httpx.AsyncClient, hf_api: respx.MockRouter
) -> None:
    route = hf_api.post(MODEL_PATH).respond(
        503, json={"error": f"Model {MODEL} is currently loading", "estimated_time": 2315.18}
    )

    response = await service.post("/process", files=files())

    assert response.status_code == 503
    detail = response.json()["detail"]
    assert "is still loading or unavailable (503)" in detail
    assert detail.endswith("(gave up after 2 attempts)")
    assert route.call_count == 2
    assert route.calls.last.request.headers["x-wait-for-model"] == "true"


@pytest.mark.anyio
async def test_process_private_resolution_is_400(
    make_settings: Callable[..., Settings], hf_api: respx.MockRouter
) -> None:
    async def private_resolver(host: str, port: int) -> list[str]:
        return ["169.254.169.254"]

    route = hf_api.post(MODEL_PATH)
    app = create_app(make_settings(), resolver=private_resolver)

    async with serve(app) as service:
        response = await service.post("/process", files=files())

    assert response.status_code == 400
    assert "non-public address (169.254.169.254)" in response.json()["detail"]
    assert route.call_count == 0


# Capacity


@pytest.mark.anyio
async def test_process_capacity_full_is_503(
    make_app: Callable[..., FastAPI], hf_api: respx.MockRouter, png_bytes: bytes
) -> None:
    arrived = anyio.Event()
    release = anyio.Event()

    async def held(request: httpx.Request) -> httpx.Response:
        arrived.set()
        await release.wait()
        return httpx.Response(200, content=png_bytes)

    route = hf_api.post(MODEL_PATH).mock(side_effect=held)
    first: list[httpx.Response] = []

    async with serve(make_app(max_direct_requests=1)) as service:

        async def post_first() -> None:
            first.append(await service.post("/process", files=files()))

        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                group.start_soon(post_first)
                await arrived.wait()
                busy = await service.post("/process", files=files())
                release.set()
            after = await service.post("/process", files=files())

    assert busy.status_code == 503
    assert busy.headers["retry-after"] == "5"
    assert "as many images as it allows" in busy.json()["detail"]
    assert first[0].status_code == 200
    assert without_provenance(first[0].content) == png_bytes
    # The slot is given back once the first request ends.
    assert after.status_code == 200
    assert route.call_count == 2


@pytest.mark.anyio
async def test_process_failure_frees_slot(
    make_app: Callable[..., FastAPI], hf_api: respx.MockRouter, png_bytes: bytes
) -> None:
    hf_api.post(MODEL_PATH).mock(
        side_effect=[
            httpx.Response(401, json={"error": "Invalid credentials"}),
            httpx.Response(200, content=png_bytes),
        ]
    )

    async with serve(make_app(max_direct_requests=1)) as service:
        failed = await service.post("/process", files=files())
        bad_input = await service.post("/process", files=files(b"{"))
        succeeded = await service.post("/process", files=files())

    assert failed.status_code == 502
    assert bad_input.status_code == 400
    assert succeeded.status_code == 200


# Docs


@pytest.mark.anyio
async def test_root_redirects_to_docs(service: httpx.AsyncClient) -> None:
    response = await service.get("/")

    assert response.status_code == 307
    assert response.headers["location"] == "/docs"


@pytest.mark.anyio
async def test_docs_page(service: httpx.AsyncClient) -> None:
    response = await service.get("/docs")

    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    assert "swagger-ui" in response.text
    assert "/openapi.json" in response.text


@pytest.mark.anyio
async def test_openapi_describes_process(service: httpx.AsyncClient) -> None:
    response = await service.get("/openapi.json")

    assert response.status_code == 200
    schema = response.json()
    operation = schema["paths"]["/process"]["post"]
    body = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
    fields = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    assert set(fields["required"]) == {"json_description", "input_text"}
    for name in ("json_description", "input_text"):
        field = fields["properties"][name]
        assert field["type"] == "string"
        assert field.get("format") == "binary" or "contentMediaType" in field
        assert field["description"]
    assert "image/png" in operation["responses"]["200"]["content"]
    assert "application/json" in operation["responses"]["200"]["content"]
    assert {"400", "422", "502", "503", "504"} <= set(operation["responses"])


# Accept negotiation


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, False),
        ("", False),
        ("*/*", False),
        ("image/png", False),
        ("application/json", True),
        ("Application/JSON", True),
        ("application/json, image/png", False),
        ("application/json;q=0.9, image/png;q=0.8", True),
        ("application/json;q=0.5, image/*", False),
        ("image/png;q=0.1, application/json", True),
        ("application/json, */*;q=0.1", True),
        ("application/json;q=bogus", False),
        ("application/json; charset=utf-8", True),
        ("text/html", False),
    ],
)
def test_prefers_json(accept: str | None, expected: bool) -> None:
    assert prefers_json(accept) is expected


# Metrics


@pytest.mark.anyio
async def test_process_calls_counted_by_endpoint_provider_and_status(
    service: httpx.AsyncClient, hf_api: respx.MockRouter
) -> None:
    hf_api.post(MODEL_PATH).mock(
        side_effect=[
            httpx.Response(200, content=make_image("JPEG")),
            httpx.Response(401, json={"error": "Invalid credentials in Authorization header"}),
        ]
    )

    assert (await service.post("/process", files=files())).status_code == 200
    assert (await service.post("/process", files=files())).status_code == 502
    assert (await service.post("/process", files=files(b"{"))).status_code == 400
    assert (await service.post("/process", json={})).status_code == 422
    text = (await service.get("/metrics")).text

    for line in (
        'direct_requests_total{endpoint="/process",provider="hf-inference",status="200"} 1.0',
        'direct_requests_total{endpoint="/process",provider="hf-inference",status="502"} 1.0',
        'direct_requests_total{endpoint="/process",provider="none",status="400"} 1.0',
        'direct_requests_total{endpoint="/process",provider="none",status="422"} 1.0',
        'upstream_requests_total{provider="hf-inference",status_code="401"} 1.0',
        'upstream_request_seconds_count{provider="hf-inference"} 2.0',
        'image_conversion_seconds_count{source_format="jpeg"} 1.0',
    ):
        assert line in text, line
    assert "process_resident_memory_bytes" in text
