"""The Inference Providers the service speaks to: one module per provider, registered here.

A new provider is one module (its `ADAPTER`) and one line in `_ADAPTERS`; the names callers
and settings may use, the default download hosts and the README's table follow from it.
"""

from typing import TYPE_CHECKING, Literal

from . import deepinfra, fal_ai, hf_inference, nscale, replicate, together, wavespeed, zai_org
from .base import (
    KNOWN_PARAMETERS,
    Adapter,
    BodyInput,
    ImageData,
    ImageLink,
    Outcome,
    PollJob,
    ProviderDocs,
    provider_body,
    router_path,
)

_ADAPTERS = (
    hf_inference.ADAPTER,
    fal_ai.ADAPTER,
    replicate.ADAPTER,
    together.ADAPTER,
    nscale.ADAPTER,
    wavespeed.ADAPTER,
    zai_org.ADAPTER,
    deepinfra.ADAPTER,
)
ADAPTERS: dict[str, Adapter] = {adapter.name: adapter for adapter in _ADAPTERS}

# `auto` picks the first live provider the Hub lists for the model.
PROVIDER_NAMES: tuple[str, ...] = ("auto", *ADAPTERS)

if TYPE_CHECKING:
    # A Literal built at run time is opaque to a type checker: it sees the plain string.
    Provider = str
else:
    # Validated as a Literal: the names in errors and in the OpenAPI schema's enum.
    Provider = Literal[PROVIDER_NAMES]

# Where the providers leave their images: the default of PROVIDER_CDN_HOSTS.
DEFAULT_CDN_HOSTS: tuple[str, ...] = tuple(
    host for adapter in _ADAPTERS for host in adapter.cdn_hosts
)


def provider_model_from_path(provider: str, route: str) -> str | None:
    """The provider's model id read back from a router route, where the route carries it."""
    return ADAPTERS[provider].model_from_route(route.strip("/"))


def readme_table() -> str:
    """The README's table of providers, as the adapters describe themselves."""
    lines = [
        "| provider | route on the router | parameters it takes | what comes back |",
        "|---|---|---|---|",
    ]
    for adapter in _ADAPTERS:
        docs = adapter.docs
        lines.append(f"| `{adapter.name}` | {docs.route} | {docs.parameters} | {docs.answer} |")
    return "\n".join(lines)


__all__ = [
    "ADAPTERS",
    "DEFAULT_CDN_HOSTS",
    "KNOWN_PARAMETERS",
    "PROVIDER_NAMES",
    "Adapter",
    "BodyInput",
    "ImageData",
    "ImageLink",
    "Outcome",
    "PollJob",
    "Provider",
    "ProviderDocs",
    "provider_body",
    "provider_model_from_path",
    "readme_table",
    "router_path",
]
