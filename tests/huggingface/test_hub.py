"""The Hub's provider mapping: its shapes, the choice of a provider, and its cache."""

from typing import Any

import httpx
import pytest
import respx

from hf_text_to_image.errors import InvalidInputError, UpstreamError
from hf_text_to_image.huggingface.hub import (
    ProviderEntry,
    ProviderMappings,
    choose_providers,
    parse_provider_mapping,
)

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


def test_auto_takes_every_live_provider_in_the_hubs_order() -> None:
    entries = parse_provider_mapping({"inferenceProviderMapping": MAPPING})
    chosen = choose_providers(entries, FLUX, "auto")
    assert [entry.provider for entry in chosen] == ["replicate", "together"]
    [named] = choose_providers(entries, FLUX, "fal-ai")
    assert named.provider_model == "fal-ai/flux/dev"  # named: taken whatever its status


def test_choose_providers_errors_name_the_model() -> None:
    entries = parse_provider_mapping({"inferenceProviderMapping": MAPPING})
    with pytest.raises(
        InvalidInputError, match=r"nscale does not serve .* served by: fal-ai, replicate, together"
    ):
        choose_providers(entries, FLUX, "nscale")
    chat = [ProviderEntry("together", "x", "conversational", "live")]
    with pytest.raises(InvalidInputError, match=f"No inference provider serves {FLUX}"):
        choose_providers(chat, FLUX, "auto")


def test_auto_skips_providers_that_are_not_live() -> None:
    staging = [
        ProviderEntry("fal-ai", "fal-ai/flux/dev", "text-to-image", "staging"),
        ProviderEntry("replicate", "b/flux", "text-to-image", "error"),
    ]
    with pytest.raises(UpstreamError, match=r"live now: fal-ai \(staging\), replicate \(error\)"):
        choose_providers(staging, FLUX, "auto")


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
