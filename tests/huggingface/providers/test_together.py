"""together: its exact request and its reading of every answer shape."""

import base64

import pytest
from conftest import make_image

from hf_text_to_image.errors import UpstreamError, UpstreamFormatError
from hf_text_to_image.huggingface.providers import ADAPTERS, ImageData, ImageLink

from .provider_cases import ROUTER, assert_request, json_bytes


def test_request() -> None:
    assert_request(
        "together",
        "black-forest-labs/FLUX.1-dev",
        f"{ROUTER}/together/v1/images/generations",
        {
            "prompt": "a fox",
            "response_format": "base64",
            "model": "black-forest-labs/FLUX.1-dev",
            "width": 768,
            "height": 512,
            "steps": 20,
            "guidance_scale": 3.5,
            "seed": 7,
            "scheduler": "DDIM",
            "negative_prompt": "blurry",
            "output_format": "png",
        },
    )


def test_read_base64_or_url() -> None:
    jpeg = make_image("JPEG")
    read = ADAPTERS["together"].read
    answer = {"data": [{"b64_json": base64.b64encode(jpeg).decode()}]}
    assert read(json_bytes(answer), ROUTER) == ImageData(jpeg)
    link = {"data": [{"url": "https://api.together.ai/img.png"}]}
    assert read(json_bytes(link), ROUTER) == ImageLink("https://api.together.ai/img.png")
    with pytest.raises(UpstreamError, match="could not generate the image: quota"):
        read(json_bytes({"error": {"message": "quota"}}), ROUTER)
    with pytest.raises(UpstreamFormatError, match="not JSON"):
        read(b"<html>", ROUTER)
