"""Pure functions that turn the caller's description and prompt into an HTTP request."""

import json
from dataclasses import dataclass
from typing import Any

from ..inputs import JsonDescription
from .providers import ADAPTERS, provider_body
from .routing import Route


@dataclass(frozen=True)
class InferenceRequest:
    """Everything needed to send one inference call, built before any I/O."""

    target: Route
    headers: dict[str, str]
    body: bytes


def build_headers(
    token: str, *, use_cache: bool, wait_for_model: bool = False, bill_to: str | None = None
) -> dict[str, str]:
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Accept": "image/png",
    }
    if not use_cache:
        headers["x-use-cache"] = "false"
    if bill_to:
        headers["X-HF-Bill-To"] = bill_to
    if wait_for_model:
        headers["x-wait-for-model"] = "true"
    return headers


def encode_json(document: Any) -> bytes:
    """UTF-8 JSON with non-ASCII text kept as written (no `\\u` escapes), NaN refused."""
    return json.dumps(document, ensure_ascii=False, allow_nan=False).encode("utf-8")


def build_request(
    route: Route,
    description: JsonDescription,
    prompt: str,
    token: str,
    *,
    bill_to: str | None = None,
) -> InferenceRequest:
    """The complete request for one prompt to the route's provider, as plain data."""
    adapter = ADAPTERS[route.provider]
    body = provider_body(
        adapter,
        prompt,
        description.parameters.to_payload(),
        route.provider_model,
        flat_parameters=description.flat_parameters,
    )
    headers = {
        **build_headers(token, use_cache=description.use_cache, bill_to=bill_to),
        **adapter.headers,
    }
    return InferenceRequest(route, headers, encode_json(body))
