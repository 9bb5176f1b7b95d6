"""The thin async client: build the request, guard it, send it with bounded retries, decode."""

import logging
import os
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import partial
from typing import Any, TypeVar

import anyio
import httpx

from ..access import TokenGrant
from ..bodies import read_at_most
from ..config import Settings
from ..errors import (
    ForbiddenTargetError,
    ServiceError,
    UpstreamError,
    UpstreamFormatError,
    UpstreamTimeoutError,
)
from ..inputs import JsonDescription
from ..metrics import Metrics
from ..outbound import OutboundGuard, OutboundPolicy
from ..redaction import redact
from .decoding import PngImage, sniff_image_format, to_png
from .failures import estimated_load_time, upstream_error
from .hub import ProviderMappings, choose_provider
from .payloads import InferenceRequest, build_request
from .providers import ADAPTERS, Adapter, ImageData, ImageLink, Outcome, PollJob
from .routing import Route, route_for_entry, route_for_hf_inference, route_for_url, target_field

logger = logging.getLogger(__name__)

# Answers up to this size are read on the event loop (well under a millisecond of CPU);
# larger ones (JSON parsing, base64, a PNG's CRCs over megabytes) in a worker thread.
INLINE_DECODE_BYTES = 256 * 1024
Decoded = TypeVar("Decoded")

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
ERROR_BODY_LIMIT = 64 * 1024


@dataclass(frozen=True)
class GeneratedImage:
    png: PngImage
    model: str
    provider: str
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
        request_id: str | None = self.headers.get("x-request-id")
        return request_id


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
        download_guard: OutboundGuard | None = None,
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
        # Conversions hold the GIL; more threads than cores only starve the event loop.
        self._conversions = anyio.CapacityLimiter(max(1, min(4, os.cpu_count() or 1)))
        self._download_guard = download_guard or OutboundGuard(
            OutboundPolicy.for_downloads(settings)
        )
        self.mappings = ProviderMappings(
            http,
            str(settings.hf_hub_url),
            ttl=settings.hf_provider_mapping_ttl,
            timeout=settings.hf_connect_timeout + 10,
            clock=clock,
        )

    async def route(self, description: JsonDescription, token: str) -> Route:
        """Where the request goes: the api_url's provider, hf-inference, or the Hub's choice."""
        settings = self._settings
        if description.api_url:
            route = route_for_url(description, settings.router_url_string)
            self._warn_legacy(route)
            return route
        model = description.model or ""
        provider = description.provider or settings.hf_default_provider
        if provider == "hf-inference":
            return route_for_hf_inference(model, str(settings.hf_model_base_url))
        entry = choose_provider(await self.mappings.entries(model, token), model, provider)
        return route_for_entry(
            entry, model, settings.router_url_string, str(settings.hf_model_base_url)
        )

    def _warn_legacy(self, route: Route) -> None:
        legacy = route.rewritten_from
        if legacy and legacy not in self._legacy_urls_seen:
            self._legacy_urls_seen.add(legacy)
            logger.warning(
                "api_url %s is retired (it answers 410); calling %s instead",
                redact(legacy),
                route.url,
            )

    async def generate(
        self, description: JsonDescription, prompt: str, grant: TokenGrant
    ) -> GeneratedImage:
        """Call the model's provider for `prompt` and return the image as a checked PNG.

        `grant` says whether the request may fall back on the operator's token.
        """
        token = grant.token_for(description.api_token)
        deadline = self._clock() + self._settings.hf_retry_deadline
        route = await self.route(description, token)
        try:
            return await self._generate_on(route, description, prompt, token, deadline)
        except ServiceError as error:
            error.provider = error.provider or route.provider  # for the metrics of the caller
            raise

    async def _generate_on(
        self, route: Route, description: JsonDescription, prompt: str, token: str, deadline: float
    ) -> GeneratedImage:
        request = build_request(route, description, prompt, token)
        await self._guard.check(request.target.url, field=target_field(route, description))
        started = self._clock()
        answer, attempts = await self._send_with_retries(request, deadline)
        adapter = ADAPTERS[route.provider]
        outcome = await self._decode(
            len(answer.body) > INLINE_DECODE_BYTES,
            partial(adapter.read, answer.body, self._settings.router_url_string),
        )
        image = await self._follow(outcome, adapter, token, deadline, route.model)
        upstream_seconds = self._clock() - started
        source_format = sniff_image_format(image) or "unknown"
        # A PNG is only walked (chunks and CRCs); anything else is decoded and encoded again.
        converts = source_format != "png" or len(image) > INLINE_DECODE_BYTES
        png = await self._decode(converts, partial(self._timed_to_png, image, source_format))
        return GeneratedImage(
            png=png,
            model=route.model,
            provider=route.provider,
            parameters=description.parameters.to_payload(),
            attempts=attempts,
            upstream_seconds=upstream_seconds,
            request_id=answer.request_id,
        )

    def _timed_to_png(self, image: bytes, source_format: str) -> PngImage:
        """`to_png`, timed in `image_conversion_seconds` (wherever it runs, loop or thread)."""
        with self._metrics.conversion(source_format):
            return to_png(image)

    async def _decode(self, off_the_loop: bool, work: Callable[[], Decoded]) -> Decoded:
        """Run `work` on the loop when it is small, else in a worker thread (a few at once)."""
        if not off_the_loop:
            return work()
        return await anyio.to_thread.run_sync(work, limiter=self._conversions)

    async def _follow(
        self, outcome: Outcome, adapter: Adapter, token: str, deadline: float, model: str
    ) -> bytes:
        """From the first answer to image bytes: poll a job until done, download a link."""
        while isinstance(outcome, PollJob):
            outcome = await self._poll(outcome, adapter, token, deadline, model)
        if isinstance(outcome, ImageLink):
            return await self._download(outcome.url, deadline, adapter.name)
        assert isinstance(outcome, ImageData)
        return outcome.data

    async def _poll(
        self, job: PollJob, adapter: Adapter, token: str, deadline: float, model: str
    ) -> Outcome:
        assert adapter.read_poll is not None
        await self._guard.check(job.url, field="the provider's job URL")
        interval = min(job.interval, self._settings.hf_max_poll_interval)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        while True:
            if self._clock() + interval >= deadline:
                raise UpstreamTimeoutError(
                    f"The provider {adapter.name} did not deliver the image within "
                    f"{self._settings.hf_retry_deadline:g} seconds."
                )
            await self._sleep(interval)
            try:
                answer = await self._get(job.url, headers, deadline, adapter.name)
            except httpx.TransportError as error:
                logger.warning(
                    "polling %s failed (%s); polling again", adapter.name, type(error).__name__
                )
                continue
            if not 200 <= answer.status < 300:
                raise upstream_error(
                    answer.status, answer.body, answer.headers, model=model, secrets=[token]
                )
            outcome = adapter.read_poll(answer.body)
            if outcome is not None:
                return outcome

    async def _download(self, url: str, deadline: float, provider: str) -> bytes:
        """The image a provider left at a URL: fetched without the token, from allowed hosts only."""
        try:
            parsed = httpx.URL(url)
            await self._download_guard.check(parsed, field="the provider's image URL")
        except (httpx.InvalidURL, ForbiddenTargetError) as error:
            detail = error.message if isinstance(error, ForbiddenTargetError) else "not a URL"
            raise UpstreamError(
                f"The provider's image cannot be downloaded: {detail} (PROVIDER_CDN_HOSTS)."
            ) from error
        try:
            answer = await self._get(parsed, {"Accept": "image/*"}, deadline, provider)
        except httpx.TransportError as error:
            raise UpstreamError(
                f"Downloading the image from {parsed.host} failed ({type(error).__name__})."
            ) from error
        if answer.status != 200:
            raise UpstreamError(
                f"Downloading the image from {parsed.host} failed ({answer.status}).",
                status_code=answer.status,
            )
        return answer.body

    async def _get(
        self, url: httpx.URL, headers: dict[str, str], deadline: float, provider: str
    ) -> UpstreamAnswer:
        remaining = deadline - self._clock()
        try:
            with anyio.fail_after(max(remaining, 0.001)):
                return await self._exchange("GET", url, provider, headers=headers)
        except TimeoutError as error:
            raise UpstreamTimeoutError(
                f"The provider did not deliver the image within "
                f"{self._settings.hf_retry_deadline:g} seconds."
            ) from error

    async def _send_with_retries(
        self, request: InferenceRequest, deadline: float
    ) -> tuple[UpstreamAnswer, int]:
        settings = self._settings
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
                if 200 <= answer.status < 300:
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
        return await self._exchange(
            "POST",
            request.target.url,
            request.target.provider,
            headers=headers,
            content=request.body,
        )

    async def _exchange(
        self,
        method: str,
        url: httpx.URL,
        provider: str,
        *,
        headers: dict[str, str],
        content: bytes | None = None,
    ) -> UpstreamAnswer:
        """One request and its size-capped answer, counted in the metrics."""
        started = time.perf_counter()
        status_code = None
        try:
            async with self._http.stream(
                method, url, content=content, headers=headers, timeout=self._timeout
            ) as response:
                status_code = response.status_code
                body = await self._read_capped(response)
                return UpstreamAnswer(response.status_code, response.headers, body)
        finally:
            self._metrics.upstream_call(provider, status_code, time.perf_counter() - started)

    async def _read_capped(self, response: httpx.Response) -> bytes:
        """The body, refused once it grows past the cap (error bodies are merely cut short)."""
        is_success = response.is_success
        limit = self._settings.max_response_bytes if is_success else ERROR_BODY_LIMIT
        declared = response.headers.get("content-length", "")
        if is_success and declared.isdigit() and int(declared) > limit:
            raise self._too_large_error()
        body, cut_short = await read_at_most(response, limit)
        if cut_short and is_success:
            raise self._too_large_error()
        return body

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
