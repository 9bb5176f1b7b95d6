"""The client's fixtures: respx on the router, settings, the shared HTTP client, fake sleep."""

from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest
import respx

from hf_text_to_image.config import Settings
from hf_text_to_image.huggingface.client import HuggingFaceClient
from hf_text_to_image.runtime import build_http_client

from .client_cases import ROUTER, FakeSleep, make_client


@pytest.fixture
def hf_api() -> Iterator[respx.MockRouter]:
    # The "httpx" mocker intercepts at the client, whatever its transport (aiohttp's here).
    with respx.mock(base_url=ROUTER, assert_all_called=False, using="httpx") as router:
        yield router


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(hf_max_attempts=4, hf_max_backoff=10, hf_retry_deadline=300)


@pytest.fixture
async def http(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with build_http_client(settings) as client:
        yield client


@pytest.fixture
def sleep() -> FakeSleep:
    return FakeSleep()


@pytest.fixture
def client(http: httpx.AsyncClient, settings: Settings, sleep: FakeSleep) -> HuggingFaceClient:
    return make_client(http, settings, sleep)
