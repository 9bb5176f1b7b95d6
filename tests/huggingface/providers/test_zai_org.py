"""zai-org: its exact request, its task and the task's end."""

import httpx
import pytest

from hf_text_to_image.errors import UpstreamError, UpstreamFormatError
from hf_text_to_image.huggingface.providers import ADAPTERS, ImageLink, PollJob

from .provider_cases import ROUTER, assert_request, json_bytes


def test_request() -> None:
    assert_request(
        "zai-org",
        "glm-image",
        f"{ROUTER}/zai-org/api/paas/v4/async/images/generations",
        {
            "model": "glm-image",
            "prompt": "a fox",
            "size": "768x512",
            "num_inference_steps": 20,
            "guidance_scale": 3.5,
            "seed": 7,
            "scheduler": "DDIM",
            "negative_prompt": "blurry",
            "output_format": "png",
        },
    )


def test_headers() -> None:
    assert ADAPTERS["zai-org"].headers["x-source-channel"] == "hugging_face"


def test_read_job_and_its_end() -> None:
    adapter = ADAPTERS["zai-org"]
    assert adapter.read_poll is not None
    assert adapter.read(json_bytes({"id": "z1", "task_status": "PROCESSING"}), ROUTER) == PollJob(
        httpx.URL(f"{ROUTER}/zai-org/api/paas/v4/async-result/z1"), 5.0
    )
    assert adapter.read_poll(json_bytes({"task_status": "PROCESSING"})) is None
    success = {"task_status": "SUCCESS", "image_result": [{"url": "https://x.bigmodel.cn/i.png"}]}
    assert adapter.read_poll(json_bytes(success)) == ImageLink("https://x.bigmodel.cn/i.png")
    with pytest.raises(UpstreamError, match="generation failed"):
        adapter.read_poll(json_bytes({"task_status": "FAIL", "message": "generation failed"}))
    with pytest.raises(UpstreamFormatError, match="task id"):
        adapter.read(json_bytes({"task_status": "PROCESSING"}), ROUTER)
