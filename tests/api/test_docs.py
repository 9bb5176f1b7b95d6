"""Swagger UI works without reaching a CDN: its assets come from the service itself."""

from collections.abc import Callable

import jsonschema
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


@pytest.mark.anyio
async def test_direct_endpoint_comes_first_and_every_answer_has_a_schema_and_an_example(
    make_settings: Callable[..., Settings],
) -> None:
    async with serve(create_app(make_settings())) as client:
        schema = (await client.get("/openapi.json")).json()

    assert next(iter(schema["paths"])) == "/process"
    assert schema["tags"][0]["name"] == "Direct"
    root = {"components": schema["components"]}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                where = f"{method} {path} {status}"
                assert answer.get("content"), where
                for media_type, content in answer["content"].items():
                    assert "schema" in content, f"{where} {media_type}"
                    if media_type == "image/png":
                        continue
                    assert "example" in content, f"{where} {media_type}"
                    jsonschema.validate(content["example"], {**content["schema"], **root})
