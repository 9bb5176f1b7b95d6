"""wavespeed: its exact request, its job and the job's end."""

import httpx
import pytest

from hf_text_to_image.errors import UpstreamError
from hf_text_to_image.huggingface.providers import ADAPTERS, ImageLink, PollJob

from .provider_cases import ROUTER, assert_request, json_bytes


def test_request() -> None:
    assert_request(
        "wavespeed",
        "wavespeed-ai/flux-dev",
        f"{ROUTER}/wavespeed/api/v3/wavespeed-ai/flux-dev",
        {
            "prompt": "a fox",
            "width": 768,
            "height": 512,
            "num_inference_steps": 20,
            "guidance_scale": 3.5,
            "seed": 7,
            "scheduler": "DDIM",
            "negative_prompt": "blurry",
            "output_format": "png",
        },
    )


def test_read_job_and_its_end() -> None:
    adapter = ADAPTERS["wavespeed"]
    assert adapter.read_poll is not None
    created = {
        "data": {
            "id": "w1",
            "status": "created",
            "urls": {"get": "https://api.wavespeed.ai/api/v3/predictions/w1/result"},
        }
    }
    assert adapter.read(json_bytes(created), ROUTER) == PollJob(
        httpx.URL(f"{ROUTER}/wavespeed/api/v3/predictions/w1/result"), 0.5
    )
    assert adapter.read_poll(json_bytes({"data": {"status": "processing"}})) is None
    completed = {"data": {"status": "completed", "outputs": ["https://cdn.wavespeed.ai/o.jpeg"]}}
    assert adapter.read_poll(json_bytes(completed)) == ImageLink("https://cdn.wavespeed.ai/o.jpeg")
    with pytest.raises(UpstreamError, match="content policy"):
        adapter.read_poll(json_bytes({"data": {"status": "failed", "error": "content policy"}}))
