"""The thin async client: build the request, guard it, send it with bounded retries, decode."""

import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import anyio
import httpx

from ..config import Settings
from ..errors import UpstreamError, UpstreamFormatError, UpstreamTimeoutError
from ..inputs import JsonDescription
from ..metrics import Metrics
from ..outbound import OutboundGuard
from ..redaction import redact
from .decoding import PngImage, extract_image, sniff_image_format, to_png
from .failures import estimated_load_time, upstream_error
from .payloads import InferenceRequest, build_inference_request

logger = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
ERROR_BODY_LIMIT = 64 * 1024


@dataclass(frozen=True)
class GeneratedImage:
    png: PngImage
    model: str
    parameters: dict[str, Any]
    attempts: int
    upstream_seconds: float
    request_id: str | None


@dataclass(frozen=True)
class UpstreamAnswer:
    status: int
    headers: httpx.Headers
    body: bytes

    @property
    def request_id(self) -> str | None:
        return self.headers.get("x-request-id")


def backoff_delay(attempt: int, max_backoff: float, jitter: float) -> float:
    """Exponential backoff (1 s, 2 s, 4 s ... capped) scaled by a jitter fraction in [0, 1)."""
    return min(max_backoff, 2.0 ** (attempt - 1)) * (0.5 + jitter / 2)


def retry_after_seconds(headers: Mapping[str, str], now: datetime) -> float | None:
    """`Retry-After` as seconds, whether given as a number or as an HTTP date."""
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def retry_delay(answer: UpstreamAnswer, attempt: int, max_backoff: float, jitter: float) -> float:
    """How long to wait before trying again after a retryable answer."""
    if answer.status == 429:
        advised = retry_after_seconds(answer.headers, datetime.now(UTC))
        if advised is not None:
            return advised
    if answer.status == 503:
        loading = estimated_load_time(answer.body)
        if loading is not None:
            # `x-wait-for-model` makes the next call wait server-side; a short pause suffices.
            return min(loading, max_backoff, backoff_delay(attempt, max_backoff, jitter))
    return backoff_delay(attempt, max_backoff, jitter)


class HuggingFaceClient:
    """Generates one PNG per prompt through the shared HTTP client."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        settings: Settings,
        guard: OutboundGuard,
        *,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
        metrics: Metrics | None = None,
    ) -> None:
        self._http = http
        self._metrics = metrics or Metrics()
        self._settings = settings
        self._guard = guard
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter
        self._timeout = httpx.Timeout(
            connect=settings.hf_connect_timeout,
            read=settings.hf_read_timeout,
            write=settings.hf_read_timeout,
            pool=settings.hf_read_timeout,
        )
        self._legacy_urls_seen: set[str] = set()

    def build_request(self, description: JsonDescription, prompt: str) -> InferenceRequest:
        default_token = self._settings.hf_token
        request = build_inference_request(
            description,
            prompt,
            model_base_url=str(self._settings.hf_model_base_url),
            default_token=default_token.get_secret_value() if default_token else None,
        )
        legacy = request.target.rewritten_from
        if legacy and legacy not in self._legacy_urls_seen:
            self._legacy_urls_seen.add(legacy)
            logger.warning(
                "api_url %s is retired (it answers 410); calling %s instead",
                redact(legacy),
                request.target.url,
            )
        return request

    async def generate(self, description: JsonDescription, prompt: str) -> GeneratedImage:
        """Call the API for `prompt` and return the image as a checked PNG."""
        request = self.build_request(description, prompt)
        await self._guard.check(request.target.url, field="api_url")
        started = self._clock()
        answer, attempts = await self._send_with_retries(request)
        upstream_seconds = self._clock() - started
        image = extract_image(answer.body)
        if sniff_image_format(image) == "png":
            png = to_png(image)  # a chunk walk with CRCs: cheap enough for the event loop
        else:
            png = await anyio.to_thread.run_sync(to_png, image)
        return GeneratedImage(
            png=png,
            model=request.target.model,
            parameters=description.parameters.to_payload(),
            attempts=attempts,
            upstream_seconds=upstream_seconds,
            request_id=answer.request_id,
        )

    async def _send_with_retries(self, request: InferenceRequest) -> tuple[UpstreamAnswer, int]:
        settings = self._settings
        deadline = self._clock() + settings.hf_retry_deadline
        secrets = [request.headers["Authorization"].removeprefix("Bearer ")]
        wait_for_model = False
        failure: UpstreamError = UpstreamError("The inference API was not called.")
        for attempt in range(1, settings.hf_max_attempts + 1):
            remaining = deadline - self._clock()
            try:
                with anyio.fail_after(remaining):
                    answer = await self._send_once(request, wait_for_model=wait_for_model)
            except TimeoutError as error:
                raise UpstreamTimeoutError(
                    f"The inference API did not produce an image within "
                    f"{settings.hf_retry_deadline:g} seconds."
                ) from error
            except httpx.TimeoutException as error:
                if not isinstance(error, httpx.ConnectTimeout):
                    raise UpstreamTimeoutError(
                        f"The inference API did not answer within {settings.hf_read_timeout:g} "
                        "seconds; the model may be overloaded, try again later."
                    ) from error
                failure = UpstreamError(
                    f"Could not connect to {request.target.url.host} within "
                    f"{settings.hf_connect_timeout:g} seconds."
                )
                delay = backoff_delay(attempt, settings.hf_max_backoff, self._jitter())
            except httpx.TransportError as error:
                failure = UpstreamError(
                    f"The connection to {request.target.url.host} failed "
                    f"({type(error).__name__}); try again later."
                )
                delay = backoff_delay(attempt, settings.hf_max_backoff, self._jitter())
            else:
                if answer.status == 200:
                    return answer, attempt
                if 300 <= answer.status < 400:
                    raise self._redirect_error(answer)
                failure = upstream_error(
                    answer.status,
                    answer.body,
                    answer.headers,
                    model=request.target.model,
                    secrets=secrets,
                )
                if answer.status not in RETRYABLE_STATUSES:
                    raise failure
                wait_for_model = wait_for_model or estimated_load_time(answer.body) is not None
                delay = retry_delay(answer, attempt, settings.hf_max_backoff, self._jitter())
            logger.warning(
                "attempt %d/%d for %s failed: %s",
                attempt,
                settings.hf_max_attempts,
                request.target.model,
                failure.message,
            )
            if attempt == settings.hf_max_attempts or self._clock() + delay >= deadline:
                break
            await self._sleep(delay)
        raise type(failure)(
            f"{failure.message} (gave up after {attempt} attempt{'s' if attempt > 1 else ''})",
            status_code=failure.status_code,
        )

    async def _send_once(
        self, request: InferenceRequest, *, wait_for_model: bool
    ) -> UpstreamAnswer:
        headers = request.headers
        if wait_for_model:
            headers = {**headers, "x-wait-for-model": "true"}
        started = time.perf_counter()
        status_code = None
        try:
            async with self._http.stream(
                "POST",
                request.target.url,
                content=request.body,
                headers=headers,
                timeout=self._timeout,
            ) as response:
                status_code = response.status_code
                body = await self._read_capped(response)
                return UpstreamAnswer(response.status_code, response.headers, body)
        finally:
            self._metrics.upstream_call(status_code, time.perf_counter() - started)

    async def _read_capped(self, response: httpx.Response) -> bytes:
        """The body, refused once it grows past the cap (error bodies are merely cut short)."""
        is_success = response.status_code == 200
        limit = self._settings.max_response_bytes if is_success else ERROR_BODY_LIMIT
        declared = response.headers.get("content-length", "")
        if is_success and declared.isdigit() and int(declared) > limit:
            raise self._too_large_error()
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                if is_success:
                    raise self._too_large_error()
                break
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large_error(self) -> UpstreamFormatError:
        return UpstreamFormatError(
            f"The API's answer is larger than the limit of {self._settings.max_response_bytes} bytes."
        )

    @staticmethod
    def _redirect_error(answer: UpstreamAnswer) -> UpstreamError:
        try:
            host = httpx.URL(answer.headers.get("location", "")).host
        except httpx.InvalidURL:  # a malformed Location says nothing useful
            host = ""
        where = f" to {host}" if host else ""
        return UpstreamError(
            f"The API answered with a redirect{where} ({answer.status}); redirects are not "
            "followed: put the final URL in api_url.",
            status_code=answer.status,
        )
