"""Shared fixtures: settings built per test, real images, and loopback-only networking."""

import functools
import io
import ipaddress
import logging
import shutil
import socket
from collections.abc import Callable, Iterator
from typing import Any

import certifi
import pytest
from PIL import Image
from standins.secrets import find_secrets
from starlette.responses import Response

from hf_text_to_image.config import Settings
from hf_text_to_image.provenance import PARAMETERS_KEYWORD, RECORD_KEYWORD, with_text_chunks

pytest_plugins = ["standins.fixtures", "standins.redis_server"]


NOISY_LOGGERS = (
    "botocore",
    "aiobotocore",
    "urllib3",
    "moto",
    "werkzeug",
    "hypothesis",
    "httpcore",
    "asyncio",
)


class _Capture(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self._sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        self._sink.append(f"log {record.name}: {text}")


def _is_loopback(address: object) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    if not isinstance(host, str):
        return True  # a Unix socket path
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return host == "localhost"


@pytest.fixture(autouse=True, scope="session")
def loopback_only() -> Iterator[None]:
    """Suite-wide: a connection to anything but this machine fails before it is made."""
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex

    def guarded(original: Any) -> Any:
        @functools.wraps(original)
        def connect(sock: socket.socket, address: Any) -> Any:
            if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
                raise ConnectionRefusedError(f"tests stay on this machine, not {address!r}")
            return original(sock, address)

        return connect

    patcher = pytest.MonkeyPatch()
    patcher.setattr(socket.socket, "connect", guarded(original_connect))
    patcher.setattr(socket.socket, "connect_ex", guarded(original_connect_ex))
    yield
    patcher.undo()


@pytest.fixture(autouse=True, scope="session")
def lazy_certificate_authorities(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Suite-wide: the certificate authorities as a directory (SSL_CERT_DIR), not a file.

    Every test connection is plain http on loopback, yet each httpx client (`httpx.get`
    builds one per call, polls included) loads certifi's whole bundle, ~40 ms of CPU: a third
    of the end-to-end tests' CPU. OpenSSL reads a directory only when it verifies a peer (and
    then only files named by hash: none here), so clients start at once; obstore, which reads
    every file of the directory, still finds every authority.
    """
    authorities = tmp_path_factory.mktemp("certificate-authorities")
    shutil.copy(certifi.where(), authorities / "certifi.pem")
    with pytest.MonkeyPatch.context() as patcher:
        patcher.setenv("SSL_CERT_DIR", str(authorities))
        patcher.delenv("SSL_CERT_FILE", raising=False)
        yield


@pytest.fixture(autouse=True)
def no_secret_leaks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Suite-wide: no token or S3 secret in any log record or any response the service renders.

    Every log record at DEBUG and up (third-party chatter aside) and every Starlette
    response body built in the process is captured; the stand-ins' own answers use
    classes of `standins.responses` and are left out.
    """
    captured: list[str] = []
    handler = _Capture(captured)
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in NOISY_LOGGERS:
        monkeypatch.setattr(logging.getLogger(name), "level", logging.INFO)
    original_init = Response.__init__

    @functools.wraps(original_init)  # FastAPI reads the signature for default status codes
    def recording_init(self: Response, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        if not type(self).__module__.startswith("standins"):
            captured.append(f"response: {bytes(self.body).decode('utf-8', 'replace')}")

    monkeypatch.setattr(Response, "__init__", recording_init)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)
    leaks = [(line[:200], found) for line in captured if (found := find_secrets(line))]
    assert not leaks, f"secrets leaked: {leaks[:5]}"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def make_settings() -> Callable[..., Settings]:
    """Settings for one test: no `.env`, no engine, quick retries; override anything."""

    def factory(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "engine_urls": [],
            "hf_max_backoff": 0.01,
            "hf_retry_deadline": 30,
            "engine_announce_retry_delay": 0.05,
            "log_level": "DEBUG",
            # A bare `model` goes straight to HF_MODEL_BASE_URL (the stand-in), no Hub look-up.
            "hf_default_provider": "hf-inference",
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)

    return factory


def make_image(image_format: str = "PNG", size: tuple[int, int] = (64, 48)) -> bytes:
    """A real image of the given format, with some content so it is not trivially small."""
    picture = Image.new("RGB", size, (200, 30, 60))
    for x in range(0, size[0], 4):
        picture.putpixel((x, x % size[1]), (x % 256, 100, 200))
    output = io.BytesIO()
    picture.save(output, format=image_format)
    return output.getvalue()


def without_provenance(png: bytes) -> bytes:
    """The PNG minus the provenance chunks the service adds: the provider's bytes again."""
    return with_text_chunks(png, {PARAMETERS_KEYWORD: "", RECORD_KEYWORD: ""}, insert=False)


@pytest.fixture
def png_bytes() -> bytes:
    return make_image("PNG")


@pytest.fixture
def jpeg_bytes() -> bytes:
    return make_image("JPEG")
