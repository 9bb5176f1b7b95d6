"""Where a description goes (router URLs, models, the Hub's mapping) and the mapping's cache."""

from typing import Any

import httpx
import pytest
import respx

from hf_text_to_image.errors import InvalidInputError, UpstreamError
from hf_text_to_image.huggingface.hub import (
    ProviderEntry,
    ProviderMappings,
    choose_provider,
    parse_provider_mapping,
)
from hf_text_to_image.huggingface.routing import route_for_url, router_route
from hf_text_to_image.inputs import JsonDescription

ROUTER = "https://router.huggingface.co"
HUB = "https://huggingface.co"
FLUX = "black-forest-labs/FLUX.1-dev"
MAPPING = {
    "fal-ai": {"providerId": "fal-ai/flux/dev", "task": "text-to-image", "status": "staging"},
    "replicate": {
        "providerId": "black-forest-labs/flux-dev",
        "task": "text-to-image",
        "status": "live",
    },
    "together": {
        "providerId": "black-forest-labs/FLUX.1-dev",
        "task": "text-to-image",
        "status": "live",
    },
    "featherless-ai": {"providerId": "x", "task": "text-to-image", "status": "live"},
}


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


def test_parse_provider_mapping_dict_and_list_shapes() -> None:
    from_dict = parse_provider_mapping({"inferenceProviderMapping": MAPPING})
    as_list = [{"provider": name, **value} for name, value in MAPPING.items()]
    assert parse_provider_mapping({"inferenceProviderMapping": as_list}) == from_dict
    assert [entry.provider for entry in from_dict] == [
        "fal-ai",
        "replicate",
        "together",
        "featherless-ai",
    ]
    assert parse_provider_mapping({"id": FLUX}) == []
    assert parse_provider_mapping(["nonsense"]) == []


def test_choose_provider_auto_takes_the_first_live_one() -> None:
    entries = parse_provider_mapping({"inferenceProviderMapping": MAPPING})
    assert choose_provider(entries, FLUX, "auto").provider == "replicate"
    assert choose_provider(entries, FLUX, "fal-ai").provider_model == "fal-ai/flux/dev"


def test_choose_provider_errors_name_the_model() -> None:
    entries = parse_provider_mapping({"inferenceProviderMapping": MAPPING})
    with pytest.raises(
        InvalidInputError, match=r"nscale does not serve .* served by: fal-ai, replicate, together"
    ):
        choose_provider(entries, FLUX, "nscale")
    chat = [ProviderEntry("together", "x", "conversational", "live")]
    with pytest.raises(InvalidInputError, match=f"No inference provider serves {FLUX}"):
        choose_provider(chat, FLUX, "auto")


def test_choose_provider_falls_back_to_staging_when_none_is_live() -> None:
    staging = [ProviderEntry("fal-ai", "fal-ai/flux/dev", "text-to-image", "staging")]
    assert choose_provider(staging, FLUX, "auto").provider == "fal-ai"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.anyio
@respx.mock
async def test_mapping_is_cached_then_refreshed_after_expiry() -> None:
    route = respx.get(f"{HUB}/api/models/{FLUX}").respond(
        200, json={"id": FLUX, "inferenceProviderMapping": MAPPING}
    )
    clock = Clock()
    async with httpx.AsyncClient() as http:
        mappings = ProviderMappings(http, HUB, ttl=600, timeout=5, clock=clock)
        first = await mappings.entries(FLUX, "hf_RoutingToken12345")
        clock.now = 599
        assert await mappings.entries(FLUX, "hf_RoutingToken12345") == first
        assert route.call_count == 1
        clock.now = 601
        await mappings.entries(FLUX, "hf_RoutingToken12345")
        assert route.call_count == 2
    assert route.calls.last.request.url.params["expand"] == "inferenceProviderMapping"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("answer", "error", "phrase"),
    [
        (httpx.Response(404), InvalidInputError, "does not exist on the Hugging Face Hub"),
        (httpx.Response(403), InvalidInputError, "private or gated"),
        (httpx.Response(500), UpstreamError, "answered 500"),
        (httpx.Response(200, text="<html>"), UpstreamError, "not JSON"),
        (httpx.ConnectError("down"), UpstreamError, "could not be reached"),
    ],
)
async def test_mapping_failures(answer: Any, error: type[Exception], phrase: str) -> None:
    with respx.mock:
        respx.get(f"{HUB}/api/models/{FLUX}").mock(side_effect=[answer])
        async with httpx.AsyncClient() as http:
            with pytest.raises(error, match=phrase):
                await ProviderMappings(http, HUB, ttl=60, timeout=5).entries(
                    FLUX, "hf_Token1234567"
                )


def test_provider_names_accepted_are_the_adapters() -> None:
    from typing import get_args

    from hf_text_to_image.huggingface.providers import ADAPTERS
    from hf_text_to_image.inputs import Provider

    assert set(get_args(Provider)) == {"auto", *ADAPTERS}
