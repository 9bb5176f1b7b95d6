"""fal-ai: its exact request and its reading of every answer shape."""

import base64

import pytest
from conftest import make_image

from hf_text_to_image.errors import UpstreamFormatError
from hf_text_to_image.huggingface.providers import ADAPTERS, ImageData, ImageLink

from .provider_cases import ROUTER, assert_request, json_bytes


def test_request() -> None:
    assert_request(
        "fal-ai",
        "fal-ai/flux/dev",
        f"{ROUTER}/fal-ai/fal-ai/flux/dev",
        {
            "prompt": "a fox",
            "image_size": {"width": 768, "height": 512},
            "num_inference_steps": 20,
            "guidance_scale": 3.5,
            "seed": 7,
            "scheduler": "DDIM",
            "negative_prompt": "blurry",
            "output_format": "png",
        },
    )


def test_read_image_url_and_data_url() -> None:
    read = ADAPTERS["fal-ai"].read
    assert read(
        json_bytes({"images": [{"url": "https://v3.fal.media/a.png"}]}), ROUTER
    ) == ImageLink("https://v3.fal.media/a.png")
    png = make_image("PNG")
    data_url = "data:image/png;base64," + base64.b64encode(png).decode()
    assert read(json_bytes({"images": [{"url": data_url}]}), ROUTER) == ImageData(png)
    with pytest.raises(UpstreamFormatError, match="no image"):
        read(json_bytes({"images": []}), ROUTER)
