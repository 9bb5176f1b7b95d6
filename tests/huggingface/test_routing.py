"""Where a description goes: provider router URLs, models named by the route or the caller."""

from typing import Any

import httpx
import pytest

from hf_text_to_image.errors import InvalidInputError
from hf_text_to_image.huggingface.routing import route_for_url, router_route
from hf_text_to_image.inputs import JsonDescription

ROUTER = "https://router.huggingface.co"


def describe(**fields: Any) -> JsonDescription:
    return JsonDescription.model_validate({"api_token": "hf_RoutingToken12345", **fields})


@pytest.mark.parametrize(
    ("url", "model", "provider", "provider_model"),
    [
        (f"{ROUTER}/fal-ai/fal-ai/flux/dev", None, "fal-ai", "fal-ai/flux/dev"),
        (f"{ROUTER}/hf-inference/models/org/sd", None, "hf-inference", "org/sd"),
        (
            f"{ROUTER}/replicate/v1/models/bfl/flux-dev/predictions",
            None,
            "replicate",
            "bfl/flux-dev",
        ),
        (f"{ROUTER}/replicate/v1/predictions", "owner/model:abc", "replicate", "owner/model:abc"),
        (
            f"{ROUTER}/together/v1/images/generations",
            "bfl/FLUX.1-dev",
            "together",
            "bfl/FLUX.1-dev",
        ),
        (
            f"{ROUTER}/wavespeed/api/v3/wavespeed-ai/flux-dev",
            None,
            "wavespeed",
            "wavespeed-ai/flux-dev",
        ),
        ("https://api-inference.huggingface.co/models/org/sd", None, "hf-inference", "org/sd"),
        (
            "https://abc.us-east-1.aws.endpoints.huggingface.cloud",
            None,
            "hf-inference",
            "abc.us-east-1.aws.endpoints.huggingface.cloud",
        ),
    ],
)
def test_route_for_url(url: str, model: str | None, provider: str, provider_model: str) -> None:
    route = route_for_url(describe(api_url=url, model=model), ROUTER)
    assert (route.provider, route.provider_model) == (provider, provider_model)


@pytest.mark.parametrize(
    ("url", "model", "phrase"),
    [
        (f"{ROUTER}/together/v1/images/generations", None, "add the provider's model id"),
        (f"{ROUTER}/fal-ai/fal-ai/flux/dev", "other/model", "not both"),
        ("https://example.hf.space/run", "org/model", "not both"),
    ],
)
def test_route_for_url_refusals(url: str, model: str | None, phrase: str) -> None:
    with pytest.raises(InvalidInputError, match=phrase):
        route_for_url(describe(api_url=url, model=model), ROUTER)


def test_router_route_only_on_the_router_and_known_providers() -> None:
    assert router_route(httpx.URL(f"{ROUTER}/nebius/v1/x"), ROUTER) is None
    assert router_route(httpx.URL("https://huggingface.co/fal-ai/x"), ROUTER) is None
    assert router_route(httpx.URL(f"{ROUTER}/nscale/v1/images/generations"), ROUTER) == (
        "nscale",
        "v1/images/generations",
    )
