"""wavespeed: `{"prompt", ...}`; a job: poll `data.urls.get` until `data.status` is completed."""

from typing import Any

from ...errors import UpstreamFormatError
from .base import (
    Adapter,
    BodyInput,
    Outcome,
    PollJob,
    ProviderDocs,
    first,
    job_failed,
    link_or_data,
    mapping,
    model_after,
    parse_json_answer,
    router_path,
)


def body(given: BodyInput) -> dict[str, Any]:
    return {"prompt": given.prompt, **given.parameters}


def _job(answer: bytes) -> dict[str, Any]:
    return mapping(mapping(parse_json_answer(answer, "wavespeed"), "job").get("data"), "job")


def read(answer: bytes, router_base: str) -> Outcome:
    poll_url = mapping(_job(answer).get("urls"), "job urls").get("get")
    if not isinstance(poll_url, str):
        raise UpstreamFormatError("The provider's answer has no job to poll.")
    return PollJob(router_path(poll_url, router_base, "wavespeed"), interval=0.5)


def read_poll(answer: bytes) -> Outcome | None:
    data = _job(answer)
    status = data.get("status")
    if status == "completed":
        return link_or_data(first(data.get("outputs"), "output"))
    if status == "failed":
        raise job_failed("wavespeed", data.get("error"))
    return None


ADAPTER = Adapter(
    name="wavespeed",
    route=lambda model: f"/api/v3/{model}",
    model_from_route=model_after("api/v3/"),
    body=body,
    read=read,
    read_poll=read_poll,
    cdn_hosts=("*.wavespeed.ai", "d1q70pf5vjeyhc.cloudfront.net"),
    docs=ProviderDocs(
        route="`/wavespeed/api/v3/{providerId}`",
        parameters="all",
        answer="a job polled every 0.5 s until `completed`, then `outputs[0]` downloaded",
    ),
)
