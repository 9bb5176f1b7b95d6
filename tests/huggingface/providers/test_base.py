"""What the adapters share: parameter filtering, job URLs re-rooted on the router."""

import httpx

from hf_text_to_image.huggingface.providers import router_path
from hf_text_to_image.huggingface.providers.base import model_after, split_parameters

from .provider_cases import ROUTER


def test_router_path_keeps_the_path_on_the_router() -> None:
    url = router_path("https://api.replicate.com/v1/predictions/abc?x=1", ROUTER, "replicate")
    assert url == httpx.URL(f"{ROUTER}/replicate/v1/predictions/abc?x=1")


def test_split_parameters_keeps_unknown_ones() -> None:
    kept = split_parameters({"seed": 1, "scheduler": "x", "style": "y"}, frozenset({"seed"}), "p")
    assert kept == {"seed": 1, "style": "y"}


def test_model_after_reads_between_prefix_and_suffix() -> None:
    read = model_after("v1/models/", "/predictions")
    assert read("v1/models/org/name/predictions") == "org/name"
    assert read("v1/predictions") is None
