"""The key policy as a dependency: /process, and any endpoint that takes the token as Bearer."""

import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Annotated, Any

import httpx
import pytest
import respx
from fastapi import Depends, FastAPI
from standins.asgi import serve

from hf_text_to_image.access import TokenGrant, hash_api_key
from hf_text_to_image.api.access import token_grant
from hf_text_to_image.config import Settings
from hf_text_to_image.main import create_app

OPERATOR_TOKEN = "hf_OPERATORtoken0987654321"
CALLER_TOKEN = "hf_CALLERtoken1234567890"
KEY = "sk-operator-key-0123456789abcdefghijklmnop"
MODEL = "stabilityai/stable-diffusion-3-medium-diffusers"
MODEL_PATH = f"/hf-inference/models/{MODEL}"


async def public_resolver(host: str, port: int) -> list[str]:
    return ["93.184.216.34"]


@pytest.fixture
def hf_api(png_bytes: bytes) -> Iterator[respx.MockRouter]:
    with respx.mock(
        base_url="https://router.huggingface.co", assert_all_called=False, using="httpx"
    ) as router:
        router.route(host="testserver").pass_through()
        router.post(MODEL_PATH).respond(
            200, content=png_bytes, headers={"content-type": "image/png"}
        )
        yield router


@pytest.fixture
def make_app(make_settings: Callable[..., Settings]) -> Callable[..., FastAPI]:
    def factory(**overrides: Any) -> FastAPI:
        values: dict[str, Any] = {"hf_token": OPERATOR_TOKEN}
        values.update(overrides)
        return create_app(make_settings(**values), resolver=public_resolver)

    return factory


@pytest.fixture
async def service(make_app: Callable[..., FastAPI]) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(make_app(api_key_hashes=[hash_api_key(KEY)])) as client:
        yield client


def files(**description: Any) -> dict[str, tuple[str, bytes, str]]:
    return {
        "json_description": (
            "d.json",
            json.dumps({"model": MODEL, **description}).encode(),
            "application/json",
        ),
        "input_text": ("p.txt", b"A hummingbird", "text/plain"),
    }


def tokens_sent(hf_api: respx.MockRouter) -> list[str]:
    return [
        call.request.headers["authorization"]
        for call in hf_api.calls
        if call.request.url.host == "router.huggingface.co"
    ]


@pytest.mark.anyio
async def test_process_without_token_or_key_is_401_and_calls_nothing(
    service: httpx.AsyncClient, hf_api: respx.MockRouter
) -> None:
    response = await service.post("/process", files=files())

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "api_token" in response.json()["detail"]
    assert "Authorization: Bearer <key>" in response.json()["detail"]
    assert tokens_sent(hf_api) == []


@pytest.mark.anyio
async def test_process_with_operator_key_uses_the_operator_token(
    service: httpx.AsyncClient, hf_api: respx.MockRouter
) -> None:
    response = await service.post(
        "/process", files=files(), headers={"Authorization": f"Bearer {KEY}"}
    )

    assert response.status_code == 200
    assert tokens_sent(hf_api) == [f"Bearer {OPERATOR_TOKEN}"]


@pytest.mark.anyio
async def test_process_with_own_token_needs_no_key(
    service: httpx.AsyncClient, hf_api: respx.MockRouter
) -> None:
    response = await service.post("/process", files=files(api_token=CALLER_TOKEN))

    assert response.status_code == 200
    assert tokens_sent(hf_api) == [f"Bearer {CALLER_TOKEN}"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    "header", [f"Bearer {KEY}x", "Bearer " + hash_api_key(KEY), f"Basic {KEY}"]
)
async def test_process_with_a_wrong_credential_is_401(
    service: httpx.AsyncClient, hf_api: respx.MockRouter, header: str
) -> None:
    response = await service.post(
        "/process", files=files(api_token=CALLER_TOKEN), headers={"Authorization": header}
    )

    assert response.status_code == 401
    assert tokens_sent(hf_api) == []


@pytest.mark.anyio
async def test_process_without_hf_token_is_400_no_token(
    make_app: Callable[..., FastAPI], hf_api: respx.MockRouter
) -> None:
    async with serve(make_app(hf_token=None)) as service:
        response = await service.post("/process", files=files())

    assert response.status_code == 400
    assert "no api_token" in response.json()["detail"]


@pytest.mark.anyio
async def test_openapi_documents_the_bearer_scheme(service: httpx.AsyncClient) -> None:
    schema = (await service.get("/openapi.json")).json()
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


@pytest.mark.anyio
async def test_the_dependency_where_the_bearer_is_the_callers_hf_token(
    make_app: Callable[..., FastAPI],
) -> None:
    app = make_app(api_key_hashes=[hash_api_key(KEY)])
    dependency = token_grant(bearer_is_hf_token=True, how_to_bring_one="send your token as Bearer")

    @app.get("/which-token")
    async def which_token(grant: Annotated[TokenGrant, Depends(dependency)]) -> dict[str, str]:
        token = grant.token_for(None)
        return {"token": "operator" if token == OPERATOR_TOKEN else "caller"}

    async with serve(app) as service:
        with_key = await service.get("/which-token", headers={"Authorization": f"Bearer {KEY}"})
        with_own = await service.get(
            "/which-token", headers={"Authorization": f"Bearer {CALLER_TOKEN}"}
        )
        with_none = await service.get("/which-token")

    assert with_key.json() == {"token": "operator"}
    assert with_own.json() == {"token": "caller"}
    assert with_none.status_code == 401
    assert "send your token as Bearer" in with_none.json()["detail"]
