"""Pure choice of where a request goes: which provider, which URL, which provider model id."""

from dataclasses import dataclass

import httpx

from ..errors import InvalidInputError
from ..inputs import JsonDescription
from .hub import ProviderEntry
from .providers import ADAPTERS, provider_model_from_path

LEGACY_PREFIX = "https://api-inference.huggingface.co/models/"
ROUTER_HF_INFERENCE_PREFIX = "https://router.huggingface.co/hf-inference/models/"


@dataclass(frozen=True)
class Route:
    provider: str
    url: httpx.URL
    provider_model: str
    model: str
    rewritten_from: str | None = None


def target_field(route: Route, description: JsonDescription) -> str:
    """How refusals name the request's URL: `api_url`, or where a bare `model` was sent."""
    if description.api_url:
        return "api_url"
    setting = "HF_MODEL_BASE_URL" if route.provider == "hf-inference" else "HF_ROUTER_URL"
    return f"the URL for model {route.model} (built from {setting})"


def rewrite_legacy_url(url: str) -> str | None:
    """The router URL that replaces a retired `api-inference` URL, or None for any other URL."""
    if url.startswith(LEGACY_PREFIX):
        return ROUTER_HF_INFERENCE_PREFIX + url.removeprefix(LEGACY_PREFIX)
    return None


def model_label(url: httpx.URL) -> str:
    """A short name for the model behind a URL: `org/name` for `/models/org/name` routes."""
    path = url.path
    if "/models/" in path:
        return path.split("/models/", 1)[1].strip("/")
    return f"{url.host}{path}".rstrip("/")


def parse_api_url(raw_url: str) -> tuple[httpx.URL, str | None]:
    """The URL to call (a retired legacy URL rewritten), and the legacy URL if it was one."""
    raw_url = raw_url.strip()
    rewritten = rewrite_legacy_url(raw_url)
    try:
        url = httpx.URL(rewritten or raw_url)
    except httpx.InvalidURL as error:
        raise InvalidInputError("api_url is not a valid URL.") from error
    example = f"{ROUTER_HF_INFERENCE_PREFIX}{{model}}"
    if not url.scheme:
        raise InvalidInputError(f"api_url is not a full URL; give a full URL such as {example}.")
    if url.scheme in ("http", "https") and not url.host:
        raise InvalidInputError(f"api_url has no host name; give a full URL such as {example}.")
    # Any other scheme goes on to the outbound guard, which names the allowed ones.
    return url, raw_url if rewritten else None


def router_route(url: httpx.URL, router_base: str) -> tuple[str, str] | None:
    """`(provider, route)` for a URL on the router under a known provider, else None."""
    router = httpx.URL(router_base)
    if (url.scheme, url.host, url.port) != (router.scheme, router.host, router.port):
        return None
    path = url.path.removeprefix(router.path.rstrip("/")).lstrip("/")
    provider, _, route = path.partition("/")
    return (provider, route) if provider in ADAPTERS else None


def route_for_url(description: JsonDescription, router_base: str) -> Route:
    """The route for an `api_url`: a provider's router URL, or any endpoint as hf-inference."""
    url, legacy = parse_api_url(description.api_url or "")
    on_router = router_route(url, router_base)
    if on_router is None:
        if description.model:
            raise InvalidInputError("give either api_url or model, not both")
        label = model_label(url)
        return Route("hf-inference", url, label, label, legacy)
    provider, route = on_router
    from_path = provider_model_from_path(provider, route)
    if from_path and description.model:
        raise InvalidInputError(
            f"give either api_url or model, not both: the URL names {from_path}"
        )
    provider_model = from_path or description.model
    if not provider_model:
        raise InvalidInputError(
            f"The {provider} route does not name a model: add the provider's model id as model."
        )
    return Route(provider, url, provider_model, provider_model, legacy)


def route_for_hf_inference(model: str, model_base_url: str) -> Route:
    url = httpx.URL(model_base_url.rstrip("/") + "/" + model)
    return Route("hf-inference", url, model, model)


def route_for_entry(
    entry: ProviderEntry, model: str, router_base: str, model_base_url: str
) -> Route:
    """The route to the provider the Hub mapped `model` to."""
    if entry.provider == "hf-inference":
        return route_for_hf_inference(entry.provider_model, model_base_url)
    adapter = ADAPTERS[entry.provider]
    url = httpx.URL(
        f"{router_base.rstrip('/')}/{entry.provider}{adapter.route(entry.provider_model)}"
    )
    return Route(entry.provider, url, entry.provider_model, model)
