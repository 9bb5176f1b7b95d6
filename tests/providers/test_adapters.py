"""Each adapter's exact request from the same inputs, and its reading of every answer shape."""

import base64
import json
from typing import Any

import httpx
import pytest
from conftest import make_image

from hf_text_to_image.errors import UpstreamError, UpstreamFormatError
from hf_text_to_image.huggingface.hub import ProviderEntry
from hf_text_to_image.huggingface.providers import (
    ADAPTERS,
    ImageData,
    ImageLink,
    PollJob,
    provider_body,
    router_path,
)
from hf_text_to_image.huggingface.routing import route_for_entry

ROUTER = "https://router.huggingface.co"
MODEL_BASE = "https://router.huggingface.co/hf-inference/models/"
PARAMETERS = {
    "width": 768,
    "height": 512,
    "num_inference_steps": 20,
    "guidance_scale": 3.5,
    "seed": 7,
    "scheduler": "DDIM",
    "negative_prompt": "blurry",
    "output_format": "png",
}

# provider, its model id, the URL it is posted to, the exact body sent
EXPECTED: list[tuple[str, str, str, dict[str, Any]]] = [
    (
        "hf-inference",
        "stabilityai/sd3",
        f"{MODEL_BASE}stabilityai/sd3",
        {"inputs": "a fox", "parameters": PARAMETERS},
    ),
    (
        "fal-ai",
        "fal-ai/flux/dev",
        f"{ROUTER}/fal-ai/fal-ai/flux/dev",
        {
            "prompt": "a fox",
            "image_size": {"width": 768, "height": 512},
            "num_inference_steps": 20,
            "guidance_scale": 3.5,
            "seed": 7,
            "negative_prompt": "blurry",
            "output_format": "png",
        },
    ),
    (
        "replicate",
        "black-forest-labs/flux-dev",
        f"{ROUTER}/replicate/v1/models/black-forest-labs/flux-dev/predictions",
        {
            "input": {
                "prompt": "a fox",
                "width": 768,
                "height": 512,
                "num_inference_steps": 20,
                "guidance_scale": 3.5,
                "seed": 7,
                "negative_prompt": "blurry",
                "output_format": "png",
            }
        },
    ),
    (
        "replicate",
        "stability-ai/sdxl:39ed52f2",
        f"{ROUTER}/replicate/v1/predictions",
        {
            "input": {
                "prompt": "a fox",
                "width": 768,
                "height": 512,
                "num_inference_steps": 20,
                "guidance_scale": 3.5,
                "seed": 7,
                "negative_prompt": "blurry",
                "output_format": "png",
            },
            "version": "39ed52f2",
        },
    ),
    (
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
            "negative_prompt": "blurry",
            "output_format": "png",
        },
    ),
    (
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
    ),
    (
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
            "negative_prompt": "blurry",
            "output_format": "png",
        },
    ),
    (
        "zai-org",
        "glm-image",
        f"{ROUTER}/zai-org/api/paas/v4/async/images/generations",
        {"model": "glm-image", "prompt": "a fox", "size": "768x512", "output_format": "png"},
    ),
]


@pytest.mark.parametrize(
    ("provider", "provider_model", "url", "body"),
    EXPECTED,
    ids=[f"{case[0]} {case[1]}" for case in EXPECTED],
)
def test_request_built_for_each_provider(
    provider: str, provider_model: str, url: str, body: dict[str, Any]
) -> None:
    entry = ProviderEntry(provider, provider_model, "text-to-image", "live")
    route = route_for_entry(entry, "org/model", ROUTER, MODEL_BASE)
    assert str(route.url) == url
    if provider == "hf-inference":
        return  # its body is the core payload, tested in tests/huggingface/test_payloads.py
    assert provider_body(ADAPTERS[provider], "a fox", dict(PARAMETERS), provider_model) == body


def test_provider_body_logs_what_it_leaves_out(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    provider_body(ADAPTERS["zai-org"], "a fox", dict(PARAMETERS), "glm-image")
    assert "zai-org does not take the parameter num_inference_steps" in caplog.text


def test_provider_headers() -> None:
    assert ADAPTERS["replicate"].headers == {"Prefer": "wait"}
    assert ADAPTERS["zai-org"].headers["x-source-channel"] == "hugging_face"


def json_bytes(document: Any) -> bytes:
    return json.dumps(document).encode()


def test_router_path_keeps_the_path_on_the_router() -> None:
    url = router_path("https://api.replicate.com/v1/predictions/abc?x=1", ROUTER, "replicate")
    assert url == httpx.URL(f"{ROUTER}/replicate/v1/predictions/abc?x=1")


def test_read_fal_image_url_and_data_url() -> None:
    read = ADAPTERS["fal-ai"].read
    assert read(
        json_bytes({"images": [{"url": "https://v3.fal.media/a.png"}]}), ROUTER
    ) == ImageLink("https://v3.fal.media/a.png")
    png = make_image("PNG")
    data_url = "data:image/png;base64," + base64.b64encode(png).decode()
    assert read(json_bytes({"images": [{"url": data_url}]}), ROUTER) == ImageData(png)
    with pytest.raises(UpstreamFormatError, match="no image"):
        read(json_bytes({"images": []}), ROUTER)


def test_read_replicate_output_or_job() -> None:
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


def test_read_generations_base64_or_url() -> None:
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


def test_read_wavespeed_job_and_its_end() -> None:
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


def test_read_zai_job_and_its_end() -> None:
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
