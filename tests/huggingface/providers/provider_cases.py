"""What every adapter test shares: the same inputs, and the check of the request built."""

import json
from typing import Any

from hf_text_to_image.huggingface.hub import ProviderEntry
from hf_text_to_image.huggingface.providers import ADAPTERS, provider_body
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


def json_bytes(document: Any) -> bytes:
    return json.dumps(document).encode()


def assert_request(provider: str, provider_model: str, url: str, body: dict[str, Any]) -> None:
    """The Hub's mapping to `provider_model` posts `body` (for "a fox") to `url`."""
    entry = ProviderEntry(provider, provider_model, "text-to-image", "live")
    route = route_for_entry(entry, "org/model", ROUTER, MODEL_BASE)
    assert str(route.url) == url
    assert provider_body(ADAPTERS[provider], "a fox", dict(PARAMETERS), provider_model) == body
