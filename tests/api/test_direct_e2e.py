"""The direct endpoint through a real uvicorn server and a real API stand-in, over sockets."""

import base64
import io
import json
from collections.abc import Callable, Iterator

import httpx
import pytest
from conftest import without_provenance
from PIL import Image
from standins.fixtures import LOOPBACK_POLICY
from standins.hf_api import Answer, HuggingFaceStandIn, render_image
from standins.servers import UvicornThread

from hf_text_to_image.config import Settings
from hf_text_to_image.main import create_app

TOKEN = "hf_DirectEndpointSecret0123456789"


@pytest.fixture
def hf() -> Iterator[tuple[HuggingFaceStandIn, str]]:
    standin = HuggingFaceStandIn()
    with UvicornThread(standin.app) as server:
        yield standin, server.url


@pytest.fixture
def service(
    make_settings: Callable[..., Settings], hf: tuple[HuggingFaceStandIn, str]
) -> Iterator[str]:
    settings = make_settings(**LOOPBACK_POLICY, hf_model_base_url=f"{hf[1]}/models/")
    with UvicornThread(create_app(settings)) as server:
        yield server.url


def post_files(
    service: str, description: dict[str, object], prompt: str, **kwargs: object
) -> httpx.Response:
    files = {
        "json_description": ("desc.json", json.dumps(description).encode(), "application/json"),
        "input_text": ("prompt.txt", prompt.encode(), "text/plain"),
    }
    return httpx.post(f"{service}/process", files=files, timeout=30, **kwargs)  # type: ignore[arg-type]


def test_direct_multipart_in_png_out(service: str, hf: tuple[HuggingFaceStandIn, str]) -> None:
    standin, _ = hf
    standin.default = Answer(image_format="WEBP")
    response = post_files(
        service, {"api_token": TOKEN, "model": "org/model", "parameters": {"seed": 7}}, "a red fox"
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    picture = Image.open(io.BytesIO(response.content))
    assert (picture.format, picture.size) == ("PNG", (64, 64))
    [request] = standin.requests
    assert request.path == "/models/org/model"
    assert json.loads(request.body) == {"inputs": "a red fox", "parameters": {"seed": 7}}


def test_direct_endpoint_json_base64_answer_as_json(
    service: str, hf: tuple[HuggingFaceStandIn, str]
) -> None:
    _, api_url = hf
    description = {
        "api_token": TOKEN,
        "api_url": f"{api_url}/endpoint",
        "flat_parameters": True,
        "parameters": {"width": 512, "height": 512, "lora_scale": 0.8},
    }
    response = post_files(service, description, "a lake", headers={"Accept": "application/json"})
    assert response.status_code == 200
    answer = response.json()
    prefix = "data:image/png;base64,"
    assert answer["image"].startswith(prefix)
    image = base64.b64decode(answer["image"].removeprefix(prefix))
    assert without_provenance(image) == render_image("PNG")
    seed = answer["seed"]
    assert answer["parameters"] == {
        "width": 512,
        "height": 512,
        "lora_scale": 0.8,
        "seed": seed,
    }
    assert answer["source_format"] == "png"
    assert answer["timings"]["total_seconds"] >= answer["timings"]["upstream_seconds"] >= 0


def test_direct_upstream_failure_is_502_without_token(
    service: str, hf: tuple[HuggingFaceStandIn, str]
) -> None:
    standin, _ = hf
    standin.answer_with(
        Answer(
            403,
            json_body={"error": f"no permission for token {TOKEN}"},
            headers={"x-request-id": "req-42"},
        )
    )
    response = post_files(service, {"api_token": TOKEN, "model": "org/gated"}, "a fox")
    assert response.status_code == 502
    detail = response.json()["detail"]
    assert "org/gated" in detail
    assert "req-42" in detail
    assert TOKEN not in response.text
