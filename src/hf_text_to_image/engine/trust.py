"""Which engines may hand this service tasks: every URL of a task must be on a trusted origin.

Out of the box the trusted origins are those of ENGINE_URLS (the engines the service serves),
and for `s3_host` also TRUSTED_S3_ORIGINS (the released engine's object store, MinIO at
`http://minio:9000` beside it). TRUSTED_ENGINE_ORIGINS replaces the engines' origins when set.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from ..config import Settings
from .models import ServiceTask, origin_text, parse_http_url


def origin_of(url: str) -> str | None:
    """`scheme://host:port` with the default port made explicit, or None for a non-URL."""
    try:
        return origin_text(parse_http_url(url))
    except ValueError:
        return None


def origins(urls: Iterable[str]) -> frozenset[str]:
    """The origins of `urls`, leaving out anything that is not an http(s) URL."""
    return frozenset(origin for origin in map(origin_of, urls) if origin is not None)


def task_urls(service_task: ServiceTask) -> dict[str, str]:
    """Every URL the service would contact for this task, by the field that named it."""
    urls = {"callback_url": service_task.callback_url}
    if service_task.storage_url:
        urls["storage_url"] = service_task.storage_url
    if service_task.s3_host:
        urls["s3_host"] = service_task.s3_host
    return urls


@dataclass(frozen=True)
class EngineTrust:
    """The origins a task's callback and storage (`engine`) and its S3 endpoint (`s3`) may use."""

    engine: frozenset[str]
    s3: frozenset[str]

    @classmethod
    def from_settings(cls, settings: Settings) -> "EngineTrust":
        explicit = origins(settings.trusted_engine_origins)
        engine = explicit or origins(settings.engine_url_strings)
        return cls(engine=engine, s3=engine | origins(settings.trusted_s3_origins))

    @property
    def hosts(self) -> frozenset[str]:
        """The host names (or addresses) of every trusted origin, as the HTTP client sees them."""
        return frozenset(parse_http_url(origin).host for origin in self.engine | self.s3)

    @staticmethod
    def callback_is_the_tasks_own(service_task: ServiceTask) -> bool:
        """Whether `callback_url` is `.../tasks/{id}` of this very task, as engines build it.

        On a trusted origin, any other path would have the report PATCH another task, or
        another resource, of the engine.
        """
        url = parse_http_url(service_task.callback_url)
        return url.path.split("/")[-2:] == ["tasks", service_task.task.id] and not url.query

    def untrusted_fields(self, service_task: ServiceTask) -> list[str]:
        """The fields of the task whose URL is not on a trusted origin."""
        return [
            field
            for field, url in task_urls(service_task).items()
            if origin_of(url) not in (self.s3 if field == "s3_host" else self.engine)
        ]
