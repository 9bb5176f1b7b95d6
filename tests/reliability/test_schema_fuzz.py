"""schemathesis against the service's own OpenAPI schema: no 5xx for any generated request.

The service runs under uvicorn on loopback with an API stand-in; its outbound guard and
trusted-engine list admit loopback only, so generated URLs cannot send traffic elsewhere.
"""

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from standins.engine import EngineStandIn
from standins.fixtures import LOOPBACK_POLICY
from standins.hf_api import HuggingFaceStandIn
from standins.servers import UvicornThread

from hf_text_to_image.config import Settings
from hf_text_to_image.main import create_app


@pytest.fixture(scope="module")
def fuzzed_service() -> Iterator[str]:
    hf = HuggingFaceStandIn()
    engine = EngineStandIn()
    with UvicornThread(hf.app) as hf_server, UvicornThread(engine.app) as engine_server:
        service_settings = Settings(
            _env_file=None,
            **LOOPBACK_POLICY,
            hf_model_base_url=f"{hf_server.url}/models/",
            # Even a generated description naming only a model stays on loopback.
            hf_router_url=hf_server.url,
            hf_hub_url=hf_server.url,
            trusted_engine_origins=[engine_server.url],
            hf_max_backoff=0.01,
            callback_retry_budget=1,
            log_level="WARNING",
        )
        with UvicornThread(create_app(service_settings)) as service:
            yield service.url


# The schema is the app's own; building the app reads no environment and starts nothing.
schema = schemathesis.openapi.from_dict(create_app(Settings(_env_file=None)).openapi())


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
def test_no_server_error_for_any_request(case: schemathesis.Case, fuzzed_service: str) -> None:
    response = case.call(base_url=fuzzed_service, timeout=30)
    assert response.status_code < 500, (response.status_code, response.text[:500])


def test_schema_lists_every_endpoint() -> None:
    paths = set(schema.raw_schema["paths"])
    assert {"/process", "/compute", "/status", "/tasks/{task_id}/status", "/metrics"} <= paths
