"""Shared fixtures: settings built per test, real images, and loopback-only networking."""

import io
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image

from hf_text_to_image.config import Settings

LOOPBACK_POLICY: dict[str, Any] = {
    "outbound_allowed_hosts": ["127.0.0.1", "localhost"],
    "outbound_allowed_networks": ["127.0.0.0/8"],
    "outbound_allowed_schemes": ["http", "https"],
}


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


@pytest.fixture
def png_bytes() -> bytes:
    return make_image("PNG")


@pytest.fixture
def jpeg_bytes() -> bytes:
    return make_image("JPEG")
