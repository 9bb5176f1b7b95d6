"""The core engine's wire models, as the released engine sends and accepts them."""

from enum import StrEnum
from typing import Annotated

import httpx
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, model_validator

# Long enough for any engine URL, short enough that a task cannot carry megabytes in one.
MAX_URL_LENGTH = 2048


def parse_http_url(value: str) -> httpx.URL:
    """The URL as the HTTP client will read it: http(s), a host, no user info; else ValueError.

    The messages name no part of the value: they reach the 422 answer.
    """
    try:
        url = httpx.URL(value)
    except (httpx.InvalidURL, TypeError) as error:
        raise ValueError("is not a valid URL") from error
    if url.scheme not in ("http", "https"):
        raise ValueError("must be an http:// or https:// URL")
    if not url.host:
        raise ValueError("has no host")
    if url.userinfo:
        raise ValueError("may not carry a user name or password")
    return url


def origin_text(url: httpx.URL) -> str:
    """`scheme://host:port` with the default port made explicit, IPv6 in brackets."""
    host = url.host.lower()
    if ":" in host:
        host = f"[{host}]"
    port = url.port or (443 if url.scheme == "https" else 80)
    return f"{url.scheme}://{host}:{port}"


def _check_task_url(value: str) -> str:
    parse_http_url(value)
    return value


def _canonical_origin(value: str) -> str:
    url = parse_http_url(value)
    if url.raw_path not in (b"", b"/") or url.fragment:
        raise ValueError("must be an origin such as http://minio:9000, without a path")
    # The object store client gets the origin as checked, not a string it might read otherwise.
    return origin_text(url)


# A URL the service will call (callback_url, storage_url), kept as the engine wrote it.
TaskUrl = Annotated[
    str, Field(min_length=1, max_length=MAX_URL_LENGTH), AfterValidator(_check_task_url)
]
# The object store's endpoint (s3_host), kept as its canonical origin.
OriginUrl = Annotated[str, Field(max_length=MAX_URL_LENGTH), AfterValidator(_canonical_origin)]


class TaskStatus(StrEnum):
    PENDING = "pending"
    FETCHING = "fetching"
    PROCESSING = "processing"
    SAVING = "saving"
    FINISHED = "finished"
    ERROR = "error"
    SCHEDULED = "scheduled"
    SKIPPED = "skipped"
    ARCHIVED = "archived"
    UNAVAILABLE = "unavailable"


class ServiceStatus(StrEnum):
    AVAILABLE = "available"
    UNAVAILABLE = "unavailable"
    DISABLED = "disabled"
    SLEEPING = "sleeping"


class FieldDescription(BaseModel):
    name: str
    type: list[str]
    format_hint: str | None = None


class Tag(BaseModel):
    name: str
    acronym: str


class ServiceDescription(BaseModel):
    """Body of `POST {engine}/services` (and of the PATCH that refreshes it)."""

    name: str
    slug: str
    url: str
    summary: str
    description: str
    status: ServiceStatus = ServiceStatus.AVAILABLE
    data_in_fields: list[FieldDescription]
    data_out_fields: list[FieldDescription]
    tags: list[Tag]
    has_ai: bool
    docs_url: str | None = None


class Task(BaseModel):
    """The engine's task; fields it adds over time are accepted and ignored."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=200)
    data_in: list[str]
    data_out: list[str] | None = None
    status: str | None = None
    service_id: str | None = None
    pipeline_execution_id: str | None = None
    pipeline_step_id: str | None = None
    error_message: str | None = None


class S3Credentials(BaseModel):
    access_key_id: str
    secret_access_key: SecretStr
    region: str
    host: str
    bucket: str


class ServiceTask(BaseModel):
    """Body of `POST /compute`: the task plus where its files live (one of two forms)."""

    model_config = ConfigDict(extra="ignore")

    task: Task
    callback_url: TaskUrl
    storage_url: TaskUrl | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_region: str | None = None
    s3_host: OriginUrl | None = None
    s3_bucket: str | None = None

    @model_validator(mode="after")
    def _one_storage_form(self) -> "ServiceTask":
        s3_values = [
            self.s3_access_key_id,
            self.s3_secret_access_key,
            self.s3_region,
            self.s3_host,
            self.s3_bucket,
        ]
        has_any_s3 = any(value is not None for value in s3_values)
        if self.storage_url and has_any_s3:
            raise ValueError("give either storage_url or the s3_* fields, not both")
        if not self.storage_url and not has_any_s3:
            raise ValueError("give storage_url or the s3_* fields")
        if has_any_s3 and not all(s3_values):
            raise ValueError(
                "the s3 form needs s3_access_key_id, s3_secret_access_key, s3_region, "
                "s3_host and s3_bucket"
            )
        return self

    @property
    def s3(self) -> S3Credentials | None:
        if self.storage_url:
            return None
        return S3Credentials(
            access_key_id=self.s3_access_key_id or "",
            secret_access_key=self.s3_secret_access_key or SecretStr(""),
            region=self.s3_region or "",
            host=self.s3_host or "",
            bucket=self.s3_bucket or "",
        )


class TaskUpdate(BaseModel):
    """Body of `PATCH {callback_url}`: `data_out` is always a list, `[]` on error."""

    status: TaskStatus
    data_out: list[str] = Field(default_factory=list)
    error_message: str | None = None


class TaskStatusAnswer(BaseModel):
    status: TaskStatus
