"""replicate: `{"input": {...}}` with `Prefer: wait`; `output` (a URL or a list) or a job to poll."""

from typing import Any

from ...errors import UpstreamFormatError
from .base import (
    Adapter,
    BodyInput,
    Outcome,
    PollJob,
    ProviderDocs,
    job_failed,
    link_or_data,
    mapping,
    model_after,
    parse_json_answer,
    router_path,
)


def route(provider_model: str) -> str:
    if ":" in provider_model:
        return "/v1/predictions"
    return f"/v1/models/{provider_model}/predictions"


def body(given: BodyInput) -> dict[str, Any]:
    document: dict[str, Any] = {"input": {"prompt": given.prompt, **given.parameters}}
    if ":" in given.provider_model:
        document["version"] = given.provider_model.split(":", 1)[1]
    return document


def _outcome(document: dict[str, Any]) -> Outcome | None:
    output = document.get("output")
    if output:
        return link_or_data(output[0] if isinstance(output, list) else output)
    if document.get("status") in ("failed", "canceled"):
        raise job_failed("replicate", document.get("error"))
    return None


def read(answer: bytes, router_base: str) -> Outcome:
    document = mapping(parse_json_answer(answer, "replicate"), "prediction")
    outcome = _outcome(document)
    if outcome is not None:
        return outcome
    poll_url = mapping(document.get("urls"), "urls").get("get")
    if not isinstance(poll_url, str):
        raise UpstreamFormatError("The provider's answer has neither an output nor a job to poll.")
    return PollJob(router_path(poll_url, router_base, "replicate"), interval=1.0)


def read_poll(answer: bytes) -> Outcome | None:
    return _outcome(mapping(parse_json_answer(answer, "replicate"), "prediction"))


ADAPTER = Adapter(
    name="replicate",
    route=route,
    model_from_route=model_after("v1/models/", "/predictions"),
    body=body,
    read=read,
    read_poll=read_poll,
    headers={"Prefer": "wait"},
    cdn_hosts=("replicate.delivery", "*.replicate.delivery"),
    docs=ProviderDocs(
        route="`/replicate/v1/models/{owner/name}/predictions` (`/v1/predictions` with "
        '`"version"` for `owner/name:version`)',
        parameters="all, under `input` (`Prefer: wait`)",
        answer="`output` URL, or a prediction polled until it succeeds",
    ),
)
