"""Swagger UI works without reaching a CDN: its assets come from the service itself."""

from collections.abc import Callable

import pytest
from standins.asgi import serve

from hf_text_to_image.config import Settings
from hf_text_to_image.main import create_app


@pytest.mark.anyio
async def test_docs_use_assets_served_by_the_service(
    make_settings: Callable[..., Settings],
) -> None:
    async with serve(create_app(make_settings())) as client:
        page = (await client.get("/docs")).text
        assert "cdn.jsdelivr.net" not in page
        assert "/static-offline-docs/swagger-ui-bundle.js" in page
        script = await client.get("/static-offline-docs/swagger-ui-bundle.js")
        assert script.status_code == 200
        assert "SwaggerUIBundle" in script.text
