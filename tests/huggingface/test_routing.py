"""Where a description goes: provider router URLs, models named by the route or the caller."""

from typing import Any

import httpx
import pytest

from hf_text_to_image.errors import InvalidInputError
from hf_text_to_image.huggingface.routing import (
    Route,
    model_label,
    rewrite_legacy_url,
    route_for_hf_inference,
    route_for_url,
    router_route,
    target_field,
)
from hf_text_to_image.inputs import JsonDescription

ROUTER = "https://router.huggingface.co"

TOKEN = "hf_SECRETtoken1234567890"
BASE_URL = "https://router.huggingface.co/hf-inference/models/"
MODEL = "stabilityai/stable-diffusion-3-medium-diffusers"
ROUTER_URL = BASE_URL + MODEL
LEGACY_URL = "https://api-inference.huggingface.co/models/" + MODEL


def description(**fields: Any) -> JsonDescription:
    fields.setdefault("api_token", TOKEN)
    if "model" not in fields:
        fields.setdefault("api_url", ROUTER_URL)
    return JsonDescription.model_validate(fields)


def resolve_target(described: JsonDescription, model_base_url: str) -> Route:
    """Where the client sends a description with `api_url`, or `model` on hf-inference."""
    if described.api_url:
        return route_for_url(described, ROUTER)
    return route_for_hf_inference(described.model or "", model_base_url)


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


def test_resolve_target_router_url_kept() -> None:
    target = resolve_target(description(), BASE_URL)

    assert target.url == httpx.URL(ROUTER_URL)
    assert target.model == MODEL
    assert target.rewritten_from is None


def test_resolve_target_legacy_url_rewritten() -> None:
    target = resolve_target(description(api_url=LEGACY_URL), BASE_URL)

    assert str(target.url) == ROUTER_URL
    assert target.model == MODEL
    assert target.rewritten_from == LEGACY_URL


def test_resolve_target_surrounding_spaces_trimmed() -> None:
    target = resolve_target(description(api_url=f"  {LEGACY_URL}\n"), BASE_URL)

    assert str(target.url) == ROUTER_URL
    assert target.rewritten_from == LEGACY_URL


@pytest.mark.parametrize("base_url", [BASE_URL, BASE_URL.rstrip("/")])
def test_resolve_target_model_joined_to_base_url(base_url: str) -> None:
    target = resolve_target(description(model="black-forest-labs/FLUX.1-schnell"), base_url)

    assert str(target.url) == BASE_URL + "black-forest-labs/FLUX.1-schnell"
    assert target.model == "black-forest-labs/FLUX.1-schnell"
    assert target.rewritten_from is None


def test_resolve_target_model_with_custom_base_url() -> None:
    target = resolve_target(description(model="org/model"), "https://example.org/v1/models/")

    assert str(target.url) == "https://example.org/v1/models/org/model"


def test_resolve_target_endpoint_label() -> None:
    target = resolve_target(
        description(api_url="https://xyz.us-east-1.aws.endpoints.huggingface.cloud/"), BASE_URL
    )

    assert target.model == "xyz.us-east-1.aws.endpoints.huggingface.cloud"


@pytest.mark.parametrize(
    ("api_url", "problem"),
    [("router.huggingface.co/x", "is not a full URL"), ("https://", "has no host name")],
)
def test_resolve_target_not_full_url_refused(api_url: str, problem: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        resolve_target(description(api_url=api_url), BASE_URL)

    assert caught.value.message == (
        f"api_url {problem}; give a full URL such as "
        "https://router.huggingface.co/hf-inference/models/{model}."
    )


def test_resolve_target_other_scheme_left_to_the_outbound_guard() -> None:
    target = resolve_target(description(api_url="ftp://huggingface.co/x"), BASE_URL)

    assert target.url.scheme == "ftp"


def test_resolve_target_invalid_url_refused() -> None:
    with pytest.raises(InvalidInputError) as caught:
        resolve_target(description(api_url="https://huggingface.co:port/x"), BASE_URL)

    assert caught.value.message == "api_url is not a valid URL."


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (LEGACY_URL, ROUTER_URL),
        (LEGACY_URL + "?wait=1", ROUTER_URL + "?wait=1"),
        (ROUTER_URL, None),
        ("http://api-inference.huggingface.co/models/org/model", None),
        ("https://xyz.endpoints.huggingface.cloud", None),
    ],
)
def test_rewrite_legacy_url(url: str, expected: str | None) -> None:
    assert rewrite_legacy_url(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (ROUTER_URL, MODEL),
        ("https://router.huggingface.co/fal-ai/models/org/name/", "org/name"),
        (
            "https://xyz.endpoints.huggingface.cloud/generate",
            "xyz.endpoints.huggingface.cloud/generate",
        ),
        ("https://xyz.endpoints.huggingface.cloud", "xyz.endpoints.huggingface.cloud"),
    ],
)
def test_model_label(url: str, expected: str) -> None:
    assert model_label(httpx.URL(url)) == expected


@pytest.mark.parametrize(
    ("provider", "fields", "expected"),
    [
        ("hf-inference", {"api_url": ROUTER_URL}, "api_url"),
        (
            "hf-inference",
            {"model": MODEL},
            f"the URL for model {MODEL} (built from HF_MODEL_BASE_URL)",
        ),
        ("fal-ai", {"model": MODEL}, f"the URL for model {MODEL} (built from HF_ROUTER_URL)"),
    ],
)
def test_target_field_names_what_the_caller_gave(
    provider: str, fields: dict[str, str], expected: str
) -> None:
    route = Route(provider, httpx.URL(ROUTER_URL), MODEL, MODEL)

    assert target_field(route, JsonDescription.model_validate({"api_token": TOKEN, **fields})) == (
        expected
    )
