"""The Hugging Face client: one prompt in, one checked PNG out.

`generate` reads as the data flows: route, build, guard, send (retries.py), read (the
provider's adapter), follow (polling.py), convert. With `auto`, a provider that is down
(5xx, 503, a timeout, no connection) hands over to the next live one while the deadline
allows. Its collaborators are handed in; `build_hf_client` wires them from the settings.
"""

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from itertools import pairwise
from typing import Any, TypeVar

import httpx

from ..access import TokenGrant
from ..background import BackgroundThreads
from ..billing import bill_to_for
from ..config import Settings
from ..errors import (
    ModelLoadingError,
    ServiceError,
    UpstreamError,
    UpstreamTimeoutError,
    UpstreamUnreachableError,
)
from ..inputs import JsonDescription
from ..metrics import Metrics
from ..outbound import OutboundGuard
from ..pacing import Pacing
from ..redaction import redact
from .decoding import PngImage, sniff_image_format, to_png
from .hub import ProviderMappings, choose_providers
from .payloads import build_request
from .polling import JobFollower
from .providers import ADAPTERS
from .retries import RetryingSender
from .routing import Route, route_for_entry, route_for_hf_inference, route_for_url, target_field
from .upstream import Upstream

logger = logging.getLogger(__name__)

# Retired URLs already warned about (by digest: a URL can be 64 KB); past this many, the
# oldest is forgotten.
LEGACY_URLS_REMEMBERED = 256
# Answers up to this size are read on the event loop: a 1 MB base64 answer costs ~1 ms, a
# 1 MB PNG's chunk walk ~0.3 ms, less than handing them to a thread and back. Larger ones
# (JSON parsing, base64, CRCs over megabytes) go to a worker thread.
INLINE_DECODE_BYTES = 1024 * 1024
Decoded = TypeVar("Decoded")


def provider_is_down(error: ServiceError) -> bool:
    """A failure the next provider may not share: a 5xx, still loading, a timeout, no link."""
    if isinstance(error, UpstreamTimeoutError | ModelLoadingError | UpstreamUnreachableError):
        return True
    return isinstance(error, UpstreamError) and (error.status_code or 0) >= 500


@dataclass(frozen=True)
class GeneratedImage:
    png: PngImage
    model: str
    provider: str
    parameters: dict[str, Any]
    attempts: int
    upstream_seconds: float
    request_id: str | None


class HuggingFaceClient:
    """Generates one PNG per prompt through the shared HTTP client."""

    def __init__(
        self,
        settings: Settings,
        *,
        mappings: ProviderMappings,
        metrics: Metrics,
        guard: OutboundGuard,
        sender: RetryingSender,
        follower: JobFollower,
        conversions: BackgroundThreads,
        pacing: Pacing,
    ) -> None:
        self._settings = settings
        self._mappings = mappings
        self._metrics = metrics
        self._guard = guard
        self._sender = sender
        self._follower = follower
        self._conversions = conversions
        self._pacing = pacing
        self._legacy_urls_seen: dict[bytes, None] = {}

    async def generate(
        self, description: JsonDescription, prompt: str, grant: TokenGrant
    ) -> GeneratedImage:
        """Call the model's provider for `prompt` and return the image as a checked PNG.

        `grant` says whether the request may fall back on the operator's token.
        """
        token = grant.token_for(description.api_token)
        deadline = self._pacing.clock() + self._settings.hf_retry_deadline
        routes = await self.routes(description, token)
        for route, next_route in pairwise(routes):
            try:
                return await self._generate_on(route, description, prompt, token, deadline)
            except ServiceError as error:
                if not provider_is_down(error) or self._pacing.clock() >= deadline:
                    raise
                logger.warning(
                    "%s failed for %s (%s); trying %s",
                    route.provider,
                    route.model,
                    error.message,
                    next_route.provider,
                )
        return await self._generate_on(routes[-1], description, prompt, token, deadline)

    async def _generate_on(
        self, route: Route, description: JsonDescription, prompt: str, token: str, deadline: float
    ) -> GeneratedImage:
        """One provider's image; its failures name the provider (for the caller's metrics)."""
        try:
            return await self._generate_with(route, description, prompt, token, deadline)
        except ServiceError as error:
            error.provider = error.provider or route.provider
            raise

    async def _generate_with(
        self, route: Route, description: JsonDescription, prompt: str, token: str, deadline: float
    ) -> GeneratedImage:
        settings = self._settings
        bill_to = bill_to_for(
            route.url, settings.router_url_string, description.bill_to, settings.hf_bill_to
        )
        request = build_request(route, description, prompt, token, bill_to=bill_to)
        await self._guard.check(request.target.url, field=target_field(route, description))
        started = self._pacing.clock()
        answer, attempts = await self._sender.send(request, deadline)
        adapter = ADAPTERS[route.provider]
        outcome = await self._decode(
            len(answer.body) > INLINE_DECODE_BYTES,
            partial(adapter.read, answer.body, self._settings.router_url_string),
        )
        image = await self._follower.follow(outcome, adapter, token, deadline, route.model)
        upstream_seconds = self._pacing.clock() - started
        source_format = sniff_image_format(image) or "unknown"
        # A PNG is only walked (chunks and CRCs); anything else is decoded and encoded again.
        converts = source_format != "png" or len(image) > INLINE_DECODE_BYTES
        return GeneratedImage(
            png=await self._decode(converts, partial(self._timed_to_png, image, source_format)),
            model=route.model,
            provider=route.provider,
            parameters=description.parameters.to_payload(),
            attempts=attempts,
            upstream_seconds=upstream_seconds,
            request_id=answer.request_id,
        )

    async def routes(self, description: JsonDescription, token: str) -> list[Route]:
        """Where the request goes: the api_url's provider, hf-inference, the named provider,
        or for `auto` every live one the Hub lists, in its order (the next one if one is down).
        """
        settings = self._settings
        if description.api_url:
            route = route_for_url(description, settings.router_url_string)
            self._warn_legacy(route)
            return [route]
        model = description.model or ""
        provider = description.provider or settings.hf_default_provider
        if provider == "hf-inference":
            return [route_for_hf_inference(model, str(settings.hf_model_base_url))]
        entries = choose_providers(await self._mappings.entries(model, token), model, provider)
        return [
            route_for_entry(
                entry, model, settings.router_url_string, str(settings.hf_model_base_url)
            )
            for entry in entries
        ]

    @property
    def provider_mappings(self) -> ProviderMappings:
        return self._mappings

    @property
    def legacy_urls_remembered(self) -> int:
        """Retired URLs warned about and still remembered (at most LEGACY_URLS_REMEMBERED)."""
        return len(self._legacy_urls_seen)

    def _warn_legacy(self, route: Route) -> None:
        legacy = route.rewritten_from
        digest = hashlib.sha256(legacy.encode()).digest() if legacy else b""
        if legacy and digest not in self._legacy_urls_seen:
            self._legacy_urls_seen[digest] = None
            if len(self._legacy_urls_seen) > LEGACY_URLS_REMEMBERED:
                del self._legacy_urls_seen[next(iter(self._legacy_urls_seen))]
            logger.warning(
                "api_url %s is retired (it answers 410); calling %s instead",
                redact(legacy),
                route.url,
            )

    def _timed_to_png(self, image: bytes, source_format: str) -> PngImage:
        """`to_png`, timed in `image_conversion_seconds` (wherever it runs, loop or thread)."""
        with self._metrics.conversion(source_format):
            return to_png(image)

    async def _decode(self, off_the_loop: bool, work: Callable[[], Decoded]) -> Decoded:
        """Run `work` on the loop when it is small, else in a worker thread (a few at once)."""
        if not off_the_loop:
            return work()
        return await self._conversions.run(work)


def build_hf_client(
    http: httpx.AsyncClient,
    settings: Settings,
    *,
    metrics: Metrics,
    guard: OutboundGuard,
    download_guard: OutboundGuard,
    pacing: Pacing,
    conversions: BackgroundThreads,
) -> HuggingFaceClient:
    """The client and its collaborators, wired from the settings over the shared HTTP client."""
    upstream = Upstream(
        http,
        timeout=httpx.Timeout(
            connect=settings.hf_connect_timeout,
            read=settings.hf_read_timeout,
            write=settings.hf_read_timeout,
            pool=settings.hf_read_timeout,
        ),
        max_response_bytes=settings.max_response_bytes,
        metrics=metrics,
        pacing=pacing,
    )
    return HuggingFaceClient(
        settings,
        mappings=ProviderMappings(
            http,
            str(settings.hf_hub_url),
            ttl=settings.hf_provider_mapping_ttl,
            timeout=settings.hf_connect_timeout + 10,
            clock=pacing.clock,
        ),
        metrics=metrics,
        guard=guard,
        sender=RetryingSender(upstream, settings, pacing),
        follower=JobFollower(
            upstream,
            guard=guard,
            download_guard=download_guard,
            max_poll_interval=settings.hf_max_poll_interval,
            deadline_seconds=settings.hf_retry_deadline,
            pacing=pacing,
        ),
        conversions=conversions,
        pacing=pacing,
    )
