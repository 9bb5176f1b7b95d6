"""The application factory."""

import httpx
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from . import __doc__ as package_doc
from . import __version__
from .api import direct, openai, system, tasks
from .api.handlers import register_error_handlers
from .config import Settings
from .logs import configure_logging
from .outbound import Resolver, resolve_with_system
from .runtime import build_lifespan
from .service import DESCRIPTION_MARKDOWN, NAME, SUMMARY
from .startup import load_settings

OPENAPI_TAGS = [
    {"name": "Direct", "description": "Two files in, the PNG back: no engine needed."},
    {
        "name": "OpenAI-compatible",
        "description": "OpenAI's Images API for Hugging Face models: the OpenAI SDK's "
        "`images.generate` with your Hugging Face token as `api_key`.",
    },
    {"name": "Engine", "description": "What a Swiss AI Center core engine calls."},
]


def create_app(
    settings: Settings | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    resolver: Resolver = resolve_with_system,
) -> FastAPI:
    """Build the service; tests pass their own settings, transport and resolver."""
    settings = settings or load_settings()
    configure_logging(settings.log_level, settings.log_format)
    # Swagger UI's assets served by the service itself: /docs works without reaching a CDN.
    app = FastAPIOffline(
        title=NAME,
        summary=SUMMARY or package_doc,
        description=DESCRIPTION_MARKDOWN,
        version=__version__,
        openapi_tags=OPENAPI_TAGS,
        lifespan=build_lifespan(settings, transport=transport, resolver=resolver),
    )
    # The direct endpoint first: it is what a newcomer tries in Swagger UI.
    app.include_router(direct.router)
    app.include_router(openai.router)
    app.include_router(system.router)
    app.include_router(tasks.router)
    register_error_handlers(app)
    return app
