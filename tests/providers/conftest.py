"""The providers' stand-in, and the service started against it as router, Hub and CDN."""

from collections.abc import Iterator
from typing import Any

import pytest
from standins.fixtures import Start
from standins.providers import ProvidersStandIn
from standins.servers import UvicornThread


@pytest.fixture
def providers() -> Iterator[ProvidersStandIn]:
    standin = ProvidersStandIn()
    with UvicornThread(standin.app) as server:
        standin.url = server.url
        yield standin
        standin.released.set()


@pytest.fixture
def start_with_providers(start_service: Start, providers: ProvidersStandIn) -> Start:
    def start(**overrides: Any) -> UvicornThread:
        settings: dict[str, Any] = {
            "hf_router_url": providers.url,
            "hf_hub_url": providers.url,
            "hf_model_base_url": f"{providers.url}/hf-inference/models/",
            "hf_default_provider": "auto",
            "hf_max_poll_interval": 0.01,
            **overrides,
        }
        return start_service(**settings)

    return start
