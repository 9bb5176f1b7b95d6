"""Which engines may hand this service tasks: their URLs must use a trusted origin."""

from collections.abc import Iterable

import httpx

from .models import ServiceTask

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str | None:
    """`scheme://host:port` with the default port made explicit, or None for a non-URL."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return None
    if parsed.scheme not in _DEFAULT_PORTS or not parsed.host:
        return None
    port = parsed.port or _DEFAULT_PORTS[parsed.scheme]
    return f"{parsed.scheme}://{parsed.host.lower()}:{port}"


def task_urls(service_task: ServiceTask) -> dict[str, str]:
    """Every URL the service would contact for this task, by the field that named it."""
    urls = {"callback_url": service_task.callback_url}
    if service_task.storage_url:
        urls["storage_url"] = service_task.storage_url
    if service_task.s3_host:
        urls["s3_host"] = service_task.s3_host
    return urls


def untrusted_fields(service_task: ServiceTask, trusted_origins: Iterable[str]) -> list[str]:
    """The fields of the task whose URL is not on a trusted origin."""
    trusted = {origin_of(origin) for origin in trusted_origins} - {None}
    return [
        field for field, url in task_urls(service_task).items() if origin_of(url) not in trusted
    ]
