"""What every Inference Provider adapter is made of, and the pieces their readers share.

An adapter is a handful of pure functions: the route for a provider model id (and the id
read back from a route), the body for a prompt and parameters, and the reading of each
answer into an `Outcome`: image bytes, an image URL to download, or a job to poll. The
client does the I/O.
"""

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from ...errors import UpstreamError, UpstreamFormatError
from ...redaction import redact
from ..decoding import image_from_base64, image_from_document, parse_json
from ..failures import error_in, error_words

logger = logging.getLogger(__name__)

# The parameters the service knows; an adapter drops those its provider does not take.
KNOWN_PARAMETERS = frozenset(
    {
        "guidance_scale",
        "negative_prompt",
        "num_inference_steps",
        "width",
        "height",
        "scheduler",
        "seed",
    }
)


@dataclass(frozen=True)
class ImageData:
    data: bytes


@dataclass(frozen=True)
class ImageLink:
    url: str


@dataclass(frozen=True)
class PollJob:
    url: httpx.URL
    interval: float


Outcome = ImageData | ImageLink | PollJob


@dataclass(frozen=True)
class BodyInput:
    """What a provider's body is made from: the prompt and the parameters it takes."""

    prompt: str
    parameters: dict[str, Any]
    provider_model: str
    flat_parameters: bool = False


@dataclass(frozen=True)
class ProviderDocs:
    """The provider's row in the README's table (a test checks the README against it)."""

    route: str
    parameters: str
    answer: str


@dataclass(frozen=True)
class Adapter:
    """One provider: where to post, what to send, and how to read what comes back."""

    name: str
    # The route under `/{name}` on the router for a provider model id.
    route: Callable[[str], str]
    # The provider model id read back from such a route (stripped of slashes), if it has one.
    model_from_route: Callable[[str], str | None]
    body: Callable[[BodyInput], dict[str, Any]]
    # Reads the answer's body (the router's base URL given, for jobs to poll).
    read: Callable[[bytes, str], Outcome]
    docs: ProviderDocs
    # Reads a poll answer's body: the outcome once done, None while the job still runs.
    read_poll: Callable[[bytes], Outcome | None] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    takes: frozenset[str] = KNOWN_PARAMETERS
    # Where the provider leaves the images it makes (downloaded without the token).
    cdn_hosts: tuple[str, ...] = ()


def no_model_in_route(_: str) -> str | None:
    return None


def model_after(prefix: str, suffix: str = "") -> Callable[[str], str | None]:
    """Reads the model id between `prefix` and `suffix` of a route, None for other routes."""

    def read(route: str) -> str | None:
        if route.startswith(prefix) and route.endswith(suffix):
            return route.removeprefix(prefix).removesuffix(suffix) or None
        return None

    return read


def split_parameters(
    parameters: dict[str, Any], takes: frozenset[str], provider: str
) -> dict[str, Any]:
    """The parameters a provider takes: known ones it supports, plus every unknown one."""
    kept = {}
    for name, value in parameters.items():
        if name in KNOWN_PARAMETERS and name not in takes:
            logger.debug("%s does not take the parameter %s; leaving it out", provider, name)
            continue
        kept[name] = value
    return kept


def size_text(parameters: dict[str, Any], separator: str = "x") -> str | None:
    width, height = parameters.pop("width", None), parameters.pop("height", None)
    if width and height:
        return f"{width}{separator}{height}"
    return None


def with_size(head: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    """`head`, then the parameters, with `width` and `height` joined last as `size: "WxH"`."""
    rest = dict(parameters)
    size = size_text(rest)
    document = {**head, **rest}
    if size:
        document["size"] = size
    return document


def router_path(url: str, router_base: str, provider: str) -> httpx.URL:
    """A provider's own job URL, re-rooted on the router (the path kept, the host replaced)."""
    parsed = httpx.URL(url)
    target = f"{router_base.rstrip('/')}/{provider}{parsed.raw_path.decode('ascii')}"
    return httpx.URL(target)


def first(items: Any, what: str) -> Any:
    if isinstance(items, list) and items:
        return items[0]
    raise UpstreamFormatError(f"The provider's answer has no {what}.")


def job_failed(provider: str, detail: Any) -> UpstreamError:
    text = redact(error_words(detail) if detail else "no reason given")[:300]
    return UpstreamError(f"The provider {provider} could not generate the image: {text}.")


def mapping(document: Any, what: str) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise UpstreamFormatError(f"The provider's answer is not the expected JSON ({what}).")
    return document


def parse_json_answer(body: bytes, provider: str) -> Any:
    """A provider's JSON answer; one that carries an `error` is the provider's failure."""
    try:
        document = parse_json(body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        raise UpstreamFormatError(
            f"The provider {provider} answered something that is not JSON."
        ) from error
    detail = error_in(document)
    if detail:
        raise job_failed(provider, detail)
    return document


def link_or_data(url: Any) -> Outcome:
    if not isinstance(url, str) or not url:
        raise UpstreamFormatError("The provider's answer has no image URL.")
    if url.startswith("data:"):
        return ImageData(image_from_base64(url))
    return ImageLink(url)


def generations_reader(provider: str) -> Callable[[bytes, str], Outcome]:
    """The reader of an OpenAI-style images/generations answer: `data[0].b64_json` or `url`."""

    def read(body: bytes, _: str) -> Outcome:
        document = mapping(parse_json_answer(body, provider), "data")
        entry = mapping(first(document.get("data"), "image"), "image")
        if entry.get("b64_json"):
            return ImageData(image_from_document(entry["b64_json"]))
        return link_or_data(entry.get("url"))

    return read


def provider_body(
    adapter: Adapter,
    prompt: str,
    parameters: dict[str, Any],
    provider_model: str,
    *,
    flat_parameters: bool = False,
) -> dict[str, Any]:
    """The body for one prompt: the parameters the provider takes, in its own names."""
    kept = split_parameters(dict(parameters), adapter.takes, adapter.name)
    return adapter.body(BodyInput(prompt, kept, provider_model, flat_parameters))
