"""Inference Providers behind the Hugging Face router: each one's request and answers, as data.

Every adapter is a handful of pure functions: the body for a prompt and parameters, and
the reading of each answer into an `Outcome`: image bytes, an image URL to download, or a
job to poll. The client does the I/O.
"""

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..errors import UpstreamError, UpstreamFormatError
from ..redaction import redact
from .decoding import extract_image
from .failures import error_words

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
class Adapter:
    """One provider: where to post, what to send, and how to read what comes back."""

    name: str
    # The route under the router for a provider model id (None: the route needs no id).
    route: Callable[[str], str]
    body: Callable[[str, dict[str, Any], str], dict[str, Any]]
    # Reads the answer's body (the router's base URL given, for jobs to poll).
    read: Callable[[bytes, str], Outcome]
    # Reads a poll answer's body: the outcome once done, None while the job still runs.
    read_poll: Callable[[bytes], Outcome | None] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    takes: frozenset[str] = KNOWN_PARAMETERS
    model_in_body: bool = False


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


def router_path(url: str, router_base: str, provider: str) -> httpx.URL:
    """A provider's own job URL, re-rooted on the router (the path kept, the host replaced)."""
    parsed = httpx.URL(url)
    target = f"{router_base.rstrip('/')}/{provider}{parsed.raw_path.decode('ascii')}"
    return httpx.URL(target)


def _first(items: Any, what: str) -> Any:
    if isinstance(items, list) and items:
        return items[0]
    raise UpstreamFormatError(f"The provider's answer has no {what}.")


def _job_failed(provider: str, detail: Any) -> UpstreamError:
    text = redact(error_words(detail) if detail else "no reason given")[:300]
    return UpstreamError(f"The provider {provider} could not generate the image: {text}.")


def _mapping(document: Any, what: str) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise UpstreamFormatError(f"The provider's answer is not the expected JSON ({what}).")
    return document


def parse_json_answer(body: bytes, provider: str) -> Any:
    """A provider's JSON answer; one that carries an `error` is the provider's failure."""
    try:
        document = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        raise UpstreamFormatError(
            f"The provider {provider} answered something that is not JSON."
        ) from error
    if isinstance(document, dict) and document.get("error"):
        raise _job_failed(provider, document["error"])
    return document


def _link_or_data(url: Any) -> Outcome:
    if not isinstance(url, str) or not url:
        raise UpstreamFormatError("The provider's answer has no image URL.")
    if url.startswith("data:"):
        return ImageData(extract_image(json.dumps(url).encode()))
    return ImageLink(url)


# hf-inference (and dedicated endpoints): {"inputs", "parameters"}, image bytes or base64 back.
def _hf_inference_body(prompt: str, parameters: dict[str, Any], _: str) -> dict[str, Any]:
    return {"inputs": prompt, "parameters": parameters}


def _read_hf_inference(body: bytes, _: str) -> Outcome:
    return ImageData(extract_image(body))


# fal-ai: {"prompt", ...}, image_size for width and height; JSON images[0].url back.
def _fal_body(prompt: str, parameters: dict[str, Any], _: str) -> dict[str, Any]:
    width, height = parameters.pop("width", None), parameters.pop("height", None)
    if width and height:
        parameters["image_size"] = {"width": width, "height": height}
    return {"prompt": prompt, **parameters}


def _read_fal(body: bytes, _: str) -> Outcome:
    images = _mapping(parse_json_answer(body, "fal-ai"), "images").get("images")
    return _link_or_data(_mapping(_first(images, "image"), "image").get("url"))


# replicate: {"input": {...}} with Prefer: wait; `output` (a URL or a list) or a job to poll.
def _replicate_route(provider_model: str) -> str:
    if ":" in provider_model:
        return "/v1/predictions"
    return f"/v1/models/{provider_model}/predictions"


def _replicate_body(prompt: str, parameters: dict[str, Any], provider_model: str) -> dict[str, Any]:
    body: dict[str, Any] = {"input": {"prompt": prompt, **parameters}}
    if ":" in provider_model:
        body["version"] = provider_model.split(":", 1)[1]
    return body


def _replicate_outcome(document: dict[str, Any]) -> Outcome | None:
    output = document.get("output")
    if output:
        return _link_or_data(output[0] if isinstance(output, list) else output)
    if document.get("status") in ("failed", "canceled"):
        raise _job_failed("replicate", document.get("error"))
    return None


def _read_replicate(body: bytes, router_base: str) -> Outcome:
    document = _mapping(parse_json_answer(body, "replicate"), "prediction")
    outcome = _replicate_outcome(document)
    if outcome is not None:
        return outcome
    poll_url = _mapping(document.get("urls"), "urls").get("get")
    if not isinstance(poll_url, str):
        raise UpstreamFormatError("The provider's answer has neither an output nor a job to poll.")
    return PollJob(router_path(poll_url, router_base, "replicate"), interval=1.0)


def _read_replicate_poll(body: bytes) -> Outcome | None:
    return _replicate_outcome(_mapping(parse_json_answer(body, "replicate"), "prediction"))


# together and nscale: OpenAI-style images/generations; data[0].b64_json back.
def _together_body(prompt: str, parameters: dict[str, Any], provider_model: str) -> dict[str, Any]:
    if "num_inference_steps" in parameters:
        parameters["steps"] = parameters.pop("num_inference_steps")
    return {"prompt": prompt, "response_format": "base64", "model": provider_model, **parameters}


def _nscale_body(prompt: str, parameters: dict[str, Any], provider_model: str) -> dict[str, Any]:
    size = size_text(parameters)
    body = {"response_format": "b64_json", "prompt": prompt, "model": provider_model, **parameters}
    if size:
        body["size"] = size
    return body


def _generations_reader(provider: str) -> Callable[[bytes, str], Outcome]:
    def read(body: bytes, _: str) -> Outcome:
        document = _mapping(parse_json_answer(body, provider), "data")
        entry = _mapping(_first(document.get("data"), "image"), "image")
        if entry.get("b64_json"):
            return ImageData(extract_image(json.dumps(entry["b64_json"]).encode()))
        return _link_or_data(entry.get("url"))

    return read


# wavespeed: {"prompt", ...}; a job: poll data.urls.get until data.status is completed.
def _wavespeed_body(prompt: str, parameters: dict[str, Any], _: str) -> dict[str, Any]:
    return {"prompt": prompt, **parameters}


def _read_wavespeed(body: bytes, router_base: str) -> Outcome:
    data = _mapping(_mapping(parse_json_answer(body, "wavespeed"), "job").get("data"), "job")
    poll_url = _mapping(data.get("urls"), "job urls").get("get")
    if not isinstance(poll_url, str):
        raise UpstreamFormatError("The provider's answer has no job to poll.")
    return PollJob(router_path(poll_url, router_base, "wavespeed"), interval=0.5)


def _read_wavespeed_poll(body: bytes) -> Outcome | None:
    data = _mapping(_mapping(parse_json_answer(body, "wavespeed"), "job").get("data"), "job")
    status = data.get("status")
    if status == "completed":
        return _link_or_data(_first(data.get("outputs"), "output"))
    if status == "failed":
        raise _job_failed("wavespeed", data.get("error"))
    return None


# zai-org: async generations; poll async-result/{id} until task_status is SUCCESS.
def _zai_body(prompt: str, parameters: dict[str, Any], provider_model: str) -> dict[str, Any]:
    size = size_text(parameters)
    body = {"model": provider_model, "prompt": prompt, **parameters}
    if size:
        body["size"] = size
    return body


def _read_zai(body: bytes, router_base: str) -> Outcome:
    task_id = _mapping(parse_json_answer(body, "zai-org"), "task").get("id")
    if not isinstance(task_id, str) or not task_id:
        raise UpstreamFormatError("The provider's answer has no task id to poll.")
    url = f"{router_base.rstrip('/')}/zai-org/api/paas/v4/async-result/{task_id}"
    return PollJob(httpx.URL(url), interval=5.0)


def _read_zai_poll(body: bytes) -> Outcome | None:
    document = _mapping(parse_json_answer(body, "zai-org"), "task")
    status = document.get("task_status")
    if status == "SUCCESS":
        image = _mapping(_first(document.get("image_result"), "image"), "image")
        return _link_or_data(image.get("url"))
    if status == "FAIL":
        raise _job_failed("zai-org", document.get("error") or document.get("message"))
    return None


ADAPTERS: dict[str, Adapter] = {
    adapter.name: adapter
    for adapter in (
        Adapter(
            name="hf-inference",
            route=lambda model: f"/models/{model}",
            body=_hf_inference_body,
            read=_read_hf_inference,
        ),
        Adapter(
            name="fal-ai",
            route=lambda model: f"/{model}",
            body=_fal_body,
            read=_read_fal,
            takes=KNOWN_PARAMETERS - {"scheduler"},
        ),
        Adapter(
            name="replicate",
            route=_replicate_route,
            body=_replicate_body,
            read=_read_replicate,
            read_poll=_read_replicate_poll,
            headers={"Prefer": "wait"},
            takes=KNOWN_PARAMETERS - {"scheduler"},
        ),
        Adapter(
            name="together",
            route=lambda _: "/v1/images/generations",
            body=_together_body,
            read=_generations_reader("together"),
            takes=KNOWN_PARAMETERS - {"scheduler"},
            model_in_body=True,
        ),
        Adapter(
            name="nscale",
            route=lambda _: "/v1/images/generations",
            body=_nscale_body,
            read=_generations_reader("nscale"),
            takes=frozenset({"negative_prompt", "width", "height", "seed"}),
            model_in_body=True,
        ),
        Adapter(
            name="wavespeed",
            route=lambda model: f"/api/v3/{model}",
            body=_wavespeed_body,
            read=_read_wavespeed,
            read_poll=_read_wavespeed_poll,
            takes=KNOWN_PARAMETERS - {"scheduler"},
        ),
        Adapter(
            name="zai-org",
            route=lambda _: "/api/paas/v4/async/images/generations",
            body=_zai_body,
            read=_read_zai,
            read_poll=_read_zai_poll,
            headers={"Accept-Language": "en-US,en", "x-source-channel": "hugging_face"},
            takes=frozenset({"width", "height"}),
            model_in_body=True,
        ),
    )
}


def provider_body(
    adapter: Adapter, prompt: str, parameters: dict[str, Any], provider_model: str
) -> dict[str, Any]:
    """The body for one prompt: the parameters the provider takes, in its own names."""
    kept = split_parameters(dict(parameters), adapter.takes, adapter.name)
    return adapter.body(prompt, kept, provider_model)


def provider_model_from_path(provider: str, route: str) -> str | None:
    """The provider's model id read back from a router route, where the route carries it."""
    route = route.strip("/")
    if provider == "hf-inference" and route.startswith("models/"):
        return route.removeprefix("models/")
    if provider == "fal-ai":
        return route or None
    if (
        provider == "replicate"
        and route.startswith("v1/models/")
        and route.endswith("/predictions")
    ):
        return route.removeprefix("v1/models/").removesuffix("/predictions")
    if provider == "wavespeed" and route.startswith("api/v3/"):
        return route.removeprefix("api/v3/")
    return None
