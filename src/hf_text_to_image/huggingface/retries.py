"""Sending the inference request with bounded retries: which answers to retry, how long to wait."""

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from ..config import Settings
from ..errors import UpstreamError, UpstreamTimeoutError, UpstreamUnreachableError
from ..pacing import Pacing, backoff_delay
from .failures import estimated_load_time, upstream_error
from .payloads import InferenceRequest
from .upstream import Upstream, UpstreamAnswer

logger = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
# The first backoff; each next one doubles, up to HF_MAX_BACKOFF.
FIRST_BACKOFF = 1.0


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
    backoff = backoff_delay(attempt, first=FIRST_BACKOFF, cap=max_backoff, jitter=jitter)
    if answer.status == 429:
        advised = retry_after_seconds(answer.headers, datetime.now(UTC))
        if advised is not None:
            return advised
    if answer.status == 503:
        loading = estimated_load_time(answer.body)
        if loading is not None:
            # `x-wait-for-model` makes the next call wait server-side; a short pause suffices.
            return min(loading, max_backoff, backoff)
    return backoff


def redirect_error(answer: UpstreamAnswer) -> UpstreamError:
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


def gave_up(failure: UpstreamError, attempts: int) -> UpstreamError:
    """The last failure, saying how many attempts were made."""
    return type(failure)(
        f"{failure.message} (gave up after {attempts} attempt{'s' if attempts > 1 else ''})",
        status_code=failure.status_code,
    )


@dataclass(frozen=True)
class Retry:
    """A failed attempt worth another: why it failed, how long to wait, how to ask next."""

    failure: UpstreamError
    delay: float
    wait_for_model: bool = False


class RetryingSender:
    """Sends an inference request until it succeeds, fails for good, or time runs out."""

    def __init__(self, upstream: Upstream, settings: Settings, pacing: Pacing) -> None:
        self._upstream = upstream
        self._settings = settings
        self._pacing = pacing

    async def send(self, request: InferenceRequest, deadline: float) -> tuple[UpstreamAnswer, int]:
        """The first successful answer and the attempts it took; UpstreamError otherwise."""
        max_attempts = self._settings.hf_max_attempts
        wait_for_model = False
        attempt = 0
        while True:
            attempt += 1
            outcome = await self._attempt(request, deadline, attempt, wait_for_model)
            if isinstance(outcome, UpstreamAnswer):
                return outcome, attempt
            wait_for_model = wait_for_model or outcome.wait_for_model
            logger.warning(
                "attempt %d/%d for %s failed: %s",
                attempt,
                max_attempts,
                request.target.model,
                outcome.failure.message,
            )
            if attempt >= max_attempts or self._pacing.clock() + outcome.delay >= deadline:
                raise gave_up(outcome.failure, attempt)
            await self._pacing.sleep(outcome.delay)

    async def _attempt(
        self, request: InferenceRequest, deadline: float, attempt: int, wait_for_model: bool
    ) -> UpstreamAnswer | Retry:
        settings = self._settings
        host = request.target.url.host
        headers = request.headers
        if wait_for_model:
            headers = {**headers, "x-wait-for-model": "true"}
        try:
            async with asyncio.timeout(deadline - self._pacing.clock()):
                answer = await self._upstream.exchange(
                    "POST",
                    request.target.url,
                    request.target.provider,
                    headers=headers,
                    content=request.body,
                )
        except TimeoutError as error:
            raise UpstreamTimeoutError(
                f"The inference API did not produce an image within "
                f"{settings.hf_retry_deadline:g} seconds."
            ) from error
        except httpx.ConnectTimeout:
            return self._backoff(
                attempt,
                f"Could not connect to {host} within {settings.hf_connect_timeout:g} seconds.",
            )
        except httpx.TimeoutException as error:
            raise UpstreamTimeoutError(
                f"The inference API did not answer within {settings.hf_read_timeout:g} "
                "seconds; the model may be overloaded, try again later."
            ) from error
        except httpx.TransportError as error:
            return self._backoff(
                attempt,
                f"The connection to {host} failed ({type(error).__name__}); try again later.",
            )
        return self._judge(answer, request, attempt)

    def _backoff(self, attempt: int, message: str) -> Retry:
        delay = self._pacing.backoff(
            attempt, first=FIRST_BACKOFF, cap=self._settings.hf_max_backoff
        )
        return Retry(UpstreamUnreachableError(message), delay)

    def _judge(
        self, answer: UpstreamAnswer, request: InferenceRequest, attempt: int
    ) -> UpstreamAnswer | Retry:
        """The answer when it succeeded, a Retry when worth one; raises when final."""
        if 200 <= answer.status < 300:
            return answer
        if 300 <= answer.status < 400:
            raise redirect_error(answer)
        token = request.headers["Authorization"].removeprefix("Bearer ")
        failure = upstream_error(
            answer.status, answer.body, answer.headers, model=request.target.model, secrets=[token]
        )
        if answer.status not in RETRYABLE_STATUSES:
            raise failure
        delay = retry_delay(answer, attempt, self._settings.hf_max_backoff, self._pacing.jitter())
        return Retry(failure, delay, estimated_load_time(answer.body) is not None)
