"""Fixtures and helpers for tests that run the service against the loopback stand-ins."""

import io
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from PIL import Image

from hf_text_to_image.config import Settings
from hf_text_to_image.main import create_app
from hf_text_to_image.service import SLUG

from .engine import EngineStandIn
from .hf_api import HuggingFaceStandIn
from .secrets import find_secrets
from .servers import UvicornThread, bind_loopback, wait_for

LOOPBACK_POLICY: dict[str, Any] = {
    "outbound_allowed_hosts": ["127.0.0.1", "localhost"],
    "outbound_allowed_networks": ["127.0.0.0/8"],
    "outbound_allowed_schemes": ["http", "https"],
}

TOKEN = "hf_EngineFlowSecretToken0123456789"
PROMPT = 'A "quoted" hummingbird\nover Zürich, 夜 🐦'


@pytest.fixture
def hf() -> Iterator[HuggingFaceStandIn]:
    standin = HuggingFaceStandIn()
    with UvicornThread(standin.app) as server:
        standin.url = server.url  # type: ignore[attr-defined]
        standin.server = server  # type: ignore[attr-defined]
        yield standin
        standin.gate.set()
        standin.released.set()


@pytest.fixture
def engine() -> Iterator[EngineStandIn]:
    standin = EngineStandIn()
    server = UvicornThread(standin.app)
    standin.public_url = server.url
    standin.server = server  # type: ignore[attr-defined]
    with server:
        yield standin
    # What the engine shows users must hold no secret either.
    assert not find_secrets(json.dumps([standin.callbacks, standin.announces]))


Start = Callable[..., UvicornThread]


@pytest.fixture
def start_service(
    make_settings: Callable[..., Settings], hf: HuggingFaceStandIn, engine: EngineStandIn
) -> Iterator[Start]:
    """Start the service on a loopback port, registered with the engine stand-in."""
    started: list[UvicornThread] = []

    def start(**overrides: Any) -> UvicornThread:
        sock = bind_loopback()
        values: dict[str, Any] = {
            **LOOPBACK_POLICY,
            "engine_urls": [engine.public_url],
            "service_url": f"http://127.0.0.1:{sock.getsockname()[1]}",
            "hf_model_base_url": f"{hf.url}/models/",  # type: ignore[attr-defined]
            "heartbeat_interval": 0.2,
            **overrides,
        }
        server = UvicornThread(create_app(make_settings(**values)), sock)
        started.append(server.start())
        return server

    yield start
    hf.gate.set()
    hf.released.set()
    for server in started:
        server.stop()
    # The services are down (their last reports sent): both stand-ins may close at once,
    # each spending uvicorn's fixed ~0.1 s on closing connections.
    for standin_server in (hf.server, engine.server):  # type: ignore[attr-defined]
        standin_server.request_stop()


@pytest.fixture
def start_direct(
    make_settings: Callable[..., Settings], hf: HuggingFaceStandIn
) -> Iterator[Callable[..., str]]:
    """Start the service on its own (no engine) against the API stand-in; returns its URL."""
    servers: list[UvicornThread] = []

    def start(**overrides: Any) -> str:
        values: dict[str, Any] = {
            **LOOPBACK_POLICY,
            "hf_model_base_url": f"{hf.url}/models/",  # type: ignore[attr-defined]
            "hf_max_attempts": 1,
            **overrides,
        }
        servers.append(UvicornThread(create_app(make_settings(**values))).start())
        return servers[-1].url

    yield start
    for server in servers:
        server.stop()


def description(**extra: Any) -> bytes:
    return json.dumps({"api_token": TOKEN, "model": "stabilityai/sd3-medium", **extra}).encode()


def submit_to_engine(engine: EngineStandIn, **extra: Any) -> dict[str, Any]:
    files = {
        "json_description": ("desc.json", description(**extra), "application/json"),
        "input_text": ("prompt", PROMPT.encode(), "text/plain"),
    }
    response = httpx.post(f"{engine.public_url}/{SLUG}", files=files, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def service_task(engine: EngineStandIn, task_id: str | None = None, **extra: Any) -> dict[str, Any]:
    """A ServiceTask in the storage_url form, its inputs put into the engine's storage."""
    keys = [f"{uuid.uuid4()}.json", f"{uuid.uuid4()}"]  # the second has no extension
    engine.storage[keys[0]] = description(**extra)
    engine.storage[keys[1]] = PROMPT.encode()
    task_id = task_id or str(uuid.uuid4())
    return {
        "task": {
            "id": task_id,
            "data_in": keys,
            "data_out": None,
            "status": "pending",
            "service_id": "s",
            "pipeline_execution_id": None,
            "error_message": None,
            "a_field_from_a_newer_engine": 1,
        },
        "storage_url": f"{engine.public_url}/storage",
        "callback_url": f"{engine.public_url}/tasks/{task_id}",
    }


def wait_for_report(engine: EngineStandIn, task_id: str, timeout: float = 10) -> dict[str, Any]:
    return wait_for(lambda: engine.reports_for(task_id), timeout=timeout)[0]


def decode_png(data: bytes) -> Image.Image:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    picture = Image.open(io.BytesIO(data))
    picture.load()
    return picture
