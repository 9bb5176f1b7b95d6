"""From a provider's first answer to image bytes: poll its job until done, download its link."""

import logging

import httpx

from ..errors import ForbiddenTargetError, UpstreamError, UpstreamTimeoutError
from ..outbound import OutboundGuard
from ..pacing import Pacing
from .failures import upstream_error
from .providers import Adapter, ImageData, ImageLink, Outcome, PollJob
from .upstream import Upstream

logger = logging.getLogger(__name__)


class JobFollower:
    """Polls provider jobs on the router (with the token) and downloads images (without it)."""

    def __init__(
        self,
        upstream: Upstream,
        *,
        guard: OutboundGuard,
        download_guard: OutboundGuard,
        max_poll_interval: float,
        deadline_seconds: float,
        pacing: Pacing,
    ) -> None:
        self._upstream = upstream
        self._guard = guard
        self._download_guard = download_guard
        self._max_poll_interval = max_poll_interval
        self._deadline_seconds = deadline_seconds
        self._pacing = pacing

    async def follow(
        self, outcome: Outcome, adapter: Adapter, token: str, deadline: float, model: str
    ) -> bytes:
        """The image bytes an outcome leads to, once its jobs are done and its link fetched."""
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
        interval = min(job.interval, self._max_poll_interval)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        while True:
            if self._pacing.clock() + interval >= deadline:
                raise UpstreamTimeoutError(
                    f"The provider {adapter.name} did not deliver the image within "
                    f"{self._deadline_seconds:g} seconds."
                )
            await self._pacing.sleep(interval)
            try:
                answer = await self._upstream.get_before(
                    job.url, adapter.name, headers, deadline, budget=self._deadline_seconds
                )
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
            # The guard's refusal names the settings that would admit the host.
            detail = error.message if isinstance(error, ForbiddenTargetError) else "not a URL."
            raise UpstreamError(f"The provider's image cannot be downloaded: {detail}") from error
        try:
            answer = await self._upstream.get_before(
                parsed, provider, {"Accept": "image/*"}, deadline, budget=self._deadline_seconds
            )
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
