"""deepinfra: its exact request (as the JS client builds it) and its reading of the answer."""

import base64

import pytest
from conftest import make_image

from hf_text_to_image.errors import UpstreamError
from hf_text_to_image.huggingface.providers import ADAPTERS, BodyInput, ImageData

from .provider_cases import PARAMETERS, ROUTER, assert_request, json_bytes


def test_request() -> None:
    assert_request(
        "deepinfra",
        "black-forest-labs/FLUX-1-schnell",
        f"{ROUTER}/deepinfra/v1/openai/images/generations",
        {
            **PARAMETERS,
            "response_format": "b64_json",
            "prompt": "a fox",
            "model": "black-forest-labs/FLUX-1-schnell",
        },
    )


def test_no_parameter_overrides_prompt_model_or_format() -> None:
    body = ADAPTERS["deepinfra"].body
    built = body(BodyInput("a fox", {"prompt": "x", "model": "y", "response_format": "url"}, "m"))
    assert (built["prompt"], built["model"], built["response_format"]) == ("a fox", "m", "b64_json")


def test_read_base64_and_refusal() -> None:
    png = make_image("PNG")
    read = ADAPTERS["deepinfra"].read
    answer = {"data": [{"b64_json": base64.b64encode(png).decode()}]}
    assert read(json_bytes(answer), ROUTER) == ImageData(png)
    with pytest.raises(UpstreamError, match="model not available"):
        read(json_bytes({"error": {"message": "model not available"}}), ROUTER)
