"""One request to the inference API or a provider, and its size-capped answer."""

import asyncio
import time
from dataclasses import dataclass

import httpx

from ..bodies import read_at_most
from ..errors import UpstreamFormatError, UpstreamTimeoutError
from ..metrics import Metrics
from ..pacing import Pacing

# Error answers are only read for their words: a short cut, never a refusal.
ERROR_BODY_LIMIT = 64 * 1024


@dataclass(frozen=True)
class UpstreamAnswer:
    status: int
    headers: httpx.Headers
    body: bytes

    @property
    def request_id(self) -> str | None:
        request_id: str | None = self.headers.get("x-request-id")
        return request_id


class Upstream:
    """Sends through the shared HTTP client, caps what it reads, counts it in the metrics."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        timeout: httpx.Timeout,
        max_response_bytes: int,
        metrics: Metrics,
        pacing: Pacing,
    ) -> None:
        self._http = http
        self._timeout = timeout
        self._max_response_bytes = max_response_bytes
        self._metrics = metrics
        self._pacing = pacing

    async def exchange(
        self,
        method: str,
        url: httpx.URL,
        provider: str,
        *,
        headers: dict[str, str],
        content: bytes | None = None,
    ) -> UpstreamAnswer:
        """One request and its size-capped answer, counted in the metrics under `provider`."""
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

    async def get_before(
        self,
        url: httpx.URL,
        provider: str,
        headers: dict[str, str],
        deadline: float,
        *,
        budget: float,
    ) -> UpstreamAnswer:
        """A GET that must be answered before `deadline` (`budget` seconds were given in all)."""
        remaining = deadline - self._pacing.clock()
        try:
            async with asyncio.timeout(max(remaining, 0.001)):
                return await self.exchange("GET", url, provider, headers=headers)
        except TimeoutError as error:
            raise UpstreamTimeoutError(
                f"The provider did not deliver the image within {budget:g} seconds."
            ) from error

    async def _read_capped(self, response: httpx.Response) -> bytes:
        """The body, refused once it grows past the cap (error bodies are merely cut short)."""
        is_success = response.is_success
        limit = self._max_response_bytes if is_success else ERROR_BODY_LIMIT
        declared = response.headers.get("content-length", "")
        if is_success and declared.isdigit() and int(declared) > limit:
            raise self._too_large_error()
        body, cut_short = await read_at_most(response, limit)
        if cut_short and is_success:
            raise self._too_large_error()
        return body

    def _too_large_error(self) -> UpstreamFormatError:
        return UpstreamFormatError(
            f"The API's answer is larger than the limit of {self._max_response_bytes} bytes."
        )
