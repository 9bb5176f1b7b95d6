"""nscale: its exact request and its reading of the answer."""

import base64

from conftest import make_image

from hf_text_to_image.huggingface.providers import ADAPTERS, ImageData

from .provider_cases import ROUTER, assert_request, json_bytes


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
            "seed": 7,
            "negative_prompt": "blurry",
            "output_format": "png",
        },
    )


def test_read_base64() -> None:
    png = make_image("PNG")
    answer = {"data": [{"b64_json": base64.b64encode(png).decode()}]}
    assert ADAPTERS["nscale"].read(json_bytes(answer), ROUTER) == ImageData(png)
