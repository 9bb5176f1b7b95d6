"""nscale: its exact request and its reading of the answer."""

import base64

import pytest
from conftest import make_image

from hf_text_to_image.huggingface.providers import ADAPTERS, ImageData, provider_body

from .provider_cases import PARAMETERS, ROUTER, assert_request, json_bytes


def test_request() -> None:
    assert_request(
        "nscale",
        "stabilityai/sdxl",
        f"{ROUTER}/nscale/v1/images/generations",
        {
            "response_format": "b64_json",
            "prompt": "a fox",
            "model": "stabilityai/sdxl",
            "size": "768x512",
            "guidance_scale": 3.5,
            "seed": 7,
            "scheduler": "DDIM",
            "negative_prompt": "blurry",
            "output_format": "png",
        },
    )


def test_body_logs_what_it_leaves_out(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    provider_body(ADAPTERS["nscale"], "a fox", dict(PARAMETERS), "stabilityai/sdxl")
    assert "nscale does not take the parameter num_inference_steps" in caplog.text


def test_read_base64() -> None:
    png = make_image("PNG")
    answer = {"data": [{"b64_json": base64.b64encode(png).decode()}]}
    assert ADAPTERS["nscale"].read(json_bytes(answer), ROUTER) == ImageData(png)
