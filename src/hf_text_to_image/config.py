"""Service settings, read from the environment and `.env` (never at import time)."""

import ipaddress
import re
from typing import Annotated, Literal

import httpx
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    HttpUrl,
    SecretStr,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from .billing import BILL_TO_PATTERN
from .huggingface.providers import DEFAULT_CDN_HOSTS, Provider
from .tokens import PLACEHOLDER_ADVICE, is_placeholder_token

# The released engine's object store beside it: MinIO as its Docker Compose setup and as its
# Kubernetes manifests name it. Names without a dot resolve only inside that setup.
DEFAULT_S3_ORIGINS = ["http://minio:9000", "http://minio-service:9000"]
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
DEFAULT_ALLOWED_HOSTS = [
    "huggingface.co",
    "*.huggingface.co",
    "*.endpoints.huggingface.cloud",
    "*.hf.space",
]


# An API key's SHA-256 digest in hex (see README, "Who may use the service's token").
ApiKeyHash = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$", to_lower=True)]

Scheme = Literal["https", "http"]
HTTPS_ONLY: tuple[Scheme, ...] = ("https",)


def _network(value: object) -> object:
    """A network as written (`10.0.0.0/8`, `fd00::/8`, one address); host bits are dropped."""
    if not isinstance(value, str):
        return value
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError as error:
        raise ValueError("is not an IP network such as 10.0.0.0/8 or fd00::/8") from error


def _origin(value: str) -> str:
    """`scheme://host:port` with the default port made explicit, IPv6 in brackets."""
    try:
        url = httpx.URL(value.strip())
    except httpx.InvalidURL as error:
        raise ValueError(f"is not a URL ({error})") from error
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError("must be an http(s) origin such as http://minio:9000")
    if url.path not in ("", "/") or url.query or url.fragment or url.userinfo:
        raise ValueError("must be an origin only (scheme://host:port): no path, query or user")
    host = url.host.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{url.scheme}://{host}:{url.port or (443 if url.scheme == 'https' else 80)}"


_HOST_NAME = re.compile(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?")


def _host_pattern(value: str) -> str:
    """A host as URLs carry it (`huggingface.co`, an address) or `*.domain` for its subdomains."""
    pattern = value.strip().lower()
    name = pattern.removeprefix("*.")
    if name == pattern:
        try:
            return str(ipaddress.ip_address(name.strip("[]")))
        except ValueError:
            pass
    if not _HOST_NAME.fullmatch(name):
        raise ValueError(
            "must be a host such as huggingface.co or *.hf.space (no scheme, port or path)"
        )
    return pattern


# A host or `*.domain` pattern, as the outbound guard compares it with a URL's host.
HostPattern = Annotated[str, AfterValidator(_host_pattern)]
# An IP network such as 10.0.0.0/8 (a mask past the address's length is refused).
Network = Annotated[ipaddress.IPv4Network | ipaddress.IPv6Network, BeforeValidator(_network)]
# An origin such as http://minio:9000, kept as `scheme://host:port`.
Origin = Annotated[str, AfterValidator(_origin)]


class Settings(BaseSettings):
    """Every knob of the service; the names match `.env` and `kubernetes/config-map.yml`."""

    model_config = SettingsConfigDict(
        # The working directory's; the repository's entry point (src/main.py) names its own.
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        case_sensitive=False,
        extra="ignore",
    )

    # Names shared by every Swiss AI Center service.
    engine_urls: list[HttpUrl] = Field(default_factory=list)
    service_url: HttpUrl = HttpUrl("http://localhost:9090")
    service_port: int = Field(default=9090, ge=1, le=65535)
    environment: Literal["development", "production", "test"] = "development"
    log_level: Literal["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    max_tasks: int = Field(default=50, ge=1)
    engine_announce_retries: int = Field(default=5, ge=1)
    engine_announce_retry_delay: float = Field(default=3.0, ge=0)

    # Hugging Face calls.
    hf_token: SecretStr | None = None
    # Keys that let a direct caller use hf_token; [] = every caller brings a token of their own.
    api_key_hashes: list[ApiKeyHash] = Field(default_factory=list)
    hf_model_base_url: HttpUrl = HttpUrl("https://router.huggingface.co/hf-inference/models/")
    hf_connect_timeout: float = Field(default=10.0, gt=0)
    hf_read_timeout: float = Field(default=120.0, gt=0)
    hf_max_attempts: int = Field(default=4, ge=1, le=20)
    hf_retry_deadline: float = Field(default=300.0, gt=0)
    hf_max_backoff: float = Field(default=30.0, ge=0)
    max_response_bytes: int = Field(default=30_000_000, ge=1024)

    # Inference Providers.
    hf_router_url: HttpUrl = HttpUrl("https://router.huggingface.co")
    hf_hub_url: HttpUrl = HttpUrl("https://huggingface.co")
    hf_default_provider: Provider = "auto"
    # The organisation billed for router calls (X-HF-Bill-To) when a description names none.
    hf_bill_to: str | None = Field(default=None, pattern=BILL_TO_PATTERN)
    hf_provider_mapping_ttl: float = Field(default=600.0, ge=0)
    hf_max_poll_interval: float = Field(default=5.0, gt=0)
    provider_cdn_hosts: list[HostPattern] = Field(default_factory=lambda: list(DEFAULT_CDN_HOSTS))

    # What callers may send.
    max_prompt_length: int = Field(default=2000, ge=1)
    max_description_bytes: int = Field(default=65_536, ge=256)
    max_direct_requests: int = Field(default=16, ge=1)
    # Prompt and parameters written into every PNG; off for operators who may not keep prompts.
    png_provenance: bool = True

    # Where the service may connect to on a caller's behalf.
    outbound_allowed_hosts: list[HostPattern] = Field(
        default_factory=lambda: list(DEFAULT_ALLOWED_HOSTS)
    )
    outbound_allowed_networks: list[Network] = Field(default_factory=list)
    outbound_allowed_schemes: list[Scheme] = Field(default_factory=lambda: list(HTTPS_ONLY))
    # Development only: admits http and https to this machine (localhost, 127.0.0.0/8, ::1),
    # e.g. `python -m hf_text_to_image.local_upstream`, without touching the lists above.
    allow_loopback_upstreams: bool = False

    # Engine integration.
    heartbeat_interval: float = Field(default=20.0, gt=0)
    max_concurrent_tasks: int = Field(default=16, ge=1)
    task_retention_seconds: float = Field(default=3600.0, ge=0)
    max_finished_tasks: int = Field(default=10_000, ge=0)
    callback_retry_budget: float = Field(default=120.0, ge=0)
    engine_request_timeout: float = Field(default=15.0, gt=0)
    shutdown_grace_seconds: float = Field(default=25.0, ge=0)
    # The fleet's shared task store: redis://[:password@]host:port/db or rediss:// (TLS);
    # unset, tasks live in this replica's memory.
    task_store_url: SecretStr | None = None
    task_store_timeout: float = Field(default=3.0, gt=0)
    task_lease_seconds: float = Field(default=30.0, gt=0)
    # Origins (scheme://host:port) a task's callback, storage and S3 URLs must use; [] = those
    # of engine_urls. s3_host may also use trusted_s3_origins (the released engine's MinIO).
    trusted_engine_origins: list[Origin] = Field(default_factory=list)
    trusted_s3_origins: list[Origin] = Field(default_factory=lambda: list(DEFAULT_S3_ORIGINS))

    # Observability.
    # A 1 ms ticker that measures how long the event loop is held (/metrics); off: it costs CPU.
    loop_lag_probe: bool = False

    @field_validator("hf_token")
    @classmethod
    def _not_a_placeholder(cls, token: SecretStr | None) -> SecretStr | None:
        if token is not None and is_placeholder_token(token.get_secret_value()):
            raise ValueError(PLACEHOLDER_ADVICE)
        return token

    @field_validator("log_level", mode="before")
    @classmethod
    def _log_level_in_any_case(cls, value: object) -> object:
        """uvicorn and most tools write levels in lower case."""
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", "environment", mode="before")
    @classmethod
    def _names_in_any_case(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("task_store_url")
    @classmethod
    def _redis_url(cls, url: SecretStr | None) -> SecretStr | None:
        if url is not None and not url.get_secret_value().startswith(REDIS_SCHEMES):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return url

    @field_validator("task_lease_seconds")
    @classmethod
    def _lease_outlasts_an_engine_call(cls, lease: float, info: ValidationInfo) -> float:
        # A report attempt must end within the lease its fence renewed, or a takeover during
        # the attempt reports the task a second time. Both fields are declared before this one.
        timeout = info.data.get("engine_request_timeout")
        if info.data.get("task_store_url") is not None and timeout is not None and timeout >= lease:
            raise ValueError(
                f"must be longer than ENGINE_REQUEST_TIMEOUT={timeout:g} while TASK_STORE_URL "
                f"is set (or a task may be reported twice): raise TASK_LEASE_SECONDS or "
                f"lower ENGINE_REQUEST_TIMEOUT"
            )
        return lease

    @property
    def engine_url_strings(self) -> list[str]:
        """Engine base URLs without a trailing slash, ready to join paths onto."""
        return [str(url).rstrip("/") for url in self.engine_urls]

    @property
    def router_url_string(self) -> str:
        return str(self.hf_router_url).rstrip("/")

    @property
    def service_url_string(self) -> str:
        return str(self.service_url).rstrip("/")
