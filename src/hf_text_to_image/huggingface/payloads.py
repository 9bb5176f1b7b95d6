"""Pure functions that turn the caller's description and prompt into an HTTP request."""

import json
from dataclasses import dataclass
from typing import Any

import httpx

from ..errors import InvalidInputError
from ..inputs import JsonDescription

LEGACY_PREFIX = "https://api-inference.huggingface.co/models/"
ROUTER_HF_INFERENCE_PREFIX = "https://router.huggingface.co/hf-inference/models/"


@dataclass(frozen=True)
class Target:
    """Where the request goes, and the name to show the user for it."""

    url: httpx.URL
    model: str
    rewritten_from: str | None = None


@dataclass(frozen=True)
class InferenceRequest:
    """Everything needed to send one inference call, built before any I/O."""

    target: Target
    headers: dict[str, str]
    body: bytes


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


def resolve_target(description: JsonDescription, model_base_url: str) -> Target:
    """Turn `api_url` or `model` into the URL to call; legacy URLs are rewritten."""
    if description.model:
        url = httpx.URL(model_base_url.rstrip("/") + "/" + description.model)
        return Target(url=url, model=description.model)
    raw_url = (description.api_url or "").strip()
    rewritten = rewrite_legacy_url(raw_url)
    try:
        url = httpx.URL(rewritten or raw_url)
    except httpx.InvalidURL as error:
        raise InvalidInputError("api_url is not a valid URL.") from error
    if url.scheme not in ("http", "https") or not url.host:
        raise InvalidInputError("api_url must be a full https:// URL of a model or endpoint.")
    return Target(url=url, model=model_label(url), rewritten_from=raw_url if rewritten else None)


def resolve_token(description: JsonDescription, default_token: str | None) -> str:
    if description.api_token is not None:
        return description.api_token.get_secret_value().strip()
    if default_token:
        return default_token
    raise InvalidInputError(
        "json_description has no api_token and the service has no default token: "
        "add your Hugging Face token as api_token."
    )


def build_headers(token: str, *, use_cache: bool, wait_for_model: bool = False) -> dict[str, str]:
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Accept": "image/png",
    }
    if not use_cache:
        headers["x-use-cache"] = "false"
    if wait_for_model:
        headers["x-wait-for-model"] = "true"
    return headers


def build_body(prompt: str, parameters: dict[str, Any], *, flat: bool) -> dict[str, Any]:
    """`{"inputs": prompt, "parameters": {...}}`, or the parameters beside `inputs` when flat."""
    if flat:
        return {**parameters, "inputs": prompt}
    return {"inputs": prompt, "parameters": parameters}


def encode_json(document: Any) -> bytes:
    """UTF-8 JSON with non-ASCII text kept as written (no `\\u` escapes), NaN refused."""
    return json.dumps(document, ensure_ascii=False, allow_nan=False).encode("utf-8")


def build_inference_request(
    description: JsonDescription,
    prompt: str,
    *,
    model_base_url: str,
    default_token: str | None,
) -> InferenceRequest:
    """The complete request for one prompt, as plain data."""
    target = resolve_target(description, model_base_url)
    token = resolve_token(description, default_token)
    body = build_body(prompt, description.parameters.to_payload(), flat=description.flat_parameters)
    return InferenceRequest(
        target=target,
        headers=build_headers(token, use_cache=description.use_cache),
        body=encode_json(body),
    )
