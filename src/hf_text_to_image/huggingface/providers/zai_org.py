"""zai-org: async generations; poll `async-result/{id}` until `task_status` is SUCCESS."""

from typing import Any

import httpx

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
    no_model_in_route,
    parse_json_answer,
    with_size,
)


def body(given: BodyInput) -> dict[str, Any]:
    return with_size({"model": given.provider_model, "prompt": given.prompt}, given.parameters)


def read(answer: bytes, router_base: str) -> Outcome:
    task_id = mapping(parse_json_answer(answer, "zai-org"), "task").get("id")
    if not isinstance(task_id, str) or not task_id:
        raise UpstreamFormatError("The provider's answer has no task id to poll.")
    url = f"{router_base.rstrip('/')}/zai-org/api/paas/v4/async-result/{task_id}"
    return PollJob(httpx.URL(url), interval=5.0)


def read_poll(answer: bytes) -> Outcome | None:
    document = mapping(parse_json_answer(answer, "zai-org"), "task")
    status = document.get("task_status")
    if status == "SUCCESS":
        image = mapping(first(document.get("image_result"), "image"), "image")
        return link_or_data(image.get("url"))
    if status == "FAIL":
        raise job_failed("zai-org", document.get("error") or document.get("message"))
    return None


ADAPTER = Adapter(
    name="zai-org",
    route=lambda _: "/api/paas/v4/async/images/generations",
    model_from_route=no_model_in_route,
    body=body,
    read=read,
    read_poll=read_poll,
    headers={"Accept-Language": "en-US,en", "x-source-channel": "hugging_face"},
    cdn_hosts=("*.bigmodel.cn", "*.z.ai"),
    docs=ProviderDocs(
        route="`/zai-org/api/paas/v4/async/images/generations`",
        parameters='all; `width`+`height` as `size: "WxH"`',
        answer="a task polled every 5 s until `SUCCESS`, then `image_result[0].url` downloaded",
    ),
)
