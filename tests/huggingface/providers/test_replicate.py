"""replicate: its exact requests (model and version routes) and every answer shape."""

import httpx
import pytest

from hf_text_to_image.errors import UpstreamError, UpstreamFormatError
from hf_text_to_image.huggingface.providers import ADAPTERS, ImageLink, PollJob

from .provider_cases import ROUTER, assert_request, json_bytes

INPUT = {
    "prompt": "a fox",
    "width": 768,
    "height": 512,
    "num_inference_steps": 20,
    "guidance_scale": 3.5,
    "seed": 7,
    "scheduler": "DDIM",
    "negative_prompt": "blurry",
    "output_format": "png",
}


def test_request_for_a_model() -> None:
    assert_request(
        "replicate",
        "black-forest-labs/flux-dev",
        f"{ROUTER}/replicate/v1/models/black-forest-labs/flux-dev/predictions",
        {"input": INPUT},
    )


def test_request_for_a_version() -> None:
    assert_request(
        "replicate",
        "stability-ai/sdxl:39ed52f2",
        f"{ROUTER}/replicate/v1/predictions",
        {"input": INPUT, "version": "39ed52f2"},
    )


def test_headers() -> None:
    assert ADAPTERS["replicate"].headers == {"Prefer": "wait"}


def test_read_output_or_job() -> None:
    read, read_poll = ADAPTERS["replicate"].read, ADAPTERS["replicate"].read_poll
    assert read_poll is not None
    done = {"status": "processing", "output": ["https://replicate.delivery/x.webp"]}
    assert read(json_bytes(done), ROUTER) == ImageLink("https://replicate.delivery/x.webp")
    assert read(json_bytes({"output": "https://replicate.delivery/y.png"}), ROUTER) == ImageLink(
        "https://replicate.delivery/y.png"
    )
    job = {
        "status": "starting",
        "output": None,
        "urls": {"get": "https://api.replicate.com/v1/predictions/p1"},
    }
    assert read(json_bytes(job), ROUTER) == PollJob(
        httpx.URL(f"{ROUTER}/replicate/v1/predictions/p1"), 1.0
    )
    assert read_poll(json_bytes({"status": "processing", "output": None})) is None
    with pytest.raises(UpstreamError, match="could not generate the image: NSFW"):
        read_poll(json_bytes({"status": "failed", "error": "NSFW"}))
    with pytest.raises(UpstreamFormatError):
        read(json_bytes({"status": "starting", "output": None, "urls": {}}), ROUTER)
