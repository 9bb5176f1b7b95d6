"""Everything the process owns while it runs, created and closed by the lifespan."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

import httpx
from fastapi import FastAPI

from .capacity import Capacity
from .config import Settings
from .huggingface.client import HuggingFaceClient
from .outbound import OutboundGuard, OutboundPolicy, Resolver, resolve_with_system


@dataclass
class Runtime:
    settings: Settings
    http: httpx.AsyncClient
    hf: HuggingFaceClient
    direct_capacity: Capacity


def build_http_client(
    settings: Settings, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """The one HTTP client of the process; redirects are never followed implicitly."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.engine_request_timeout, connect=settings.hf_connect_timeout),
        limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
        follow_redirects=False,
        transport=transport,
    )


def build_lifespan(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    resolver: Resolver = resolve_with_system,
) -> Callable[[FastAPI], AbstractAsyncContextManager[dict[str, Runtime]]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Runtime]]:
        async with build_http_client(settings, transport) as http:
            guard = OutboundGuard(OutboundPolicy.from_settings(settings), resolver)
            runtime = Runtime(
                settings=settings,
                http=http,
                hf=HuggingFaceClient(http, settings, guard),
                direct_capacity=Capacity(
                    settings.max_direct_requests,
                    busy_message="The service is generating as many images as it allows; try again shortly.",
                ),
            )
            yield {"runtime": runtime}

    return lifespan
