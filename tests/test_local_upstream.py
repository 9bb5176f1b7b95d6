"""The local Hugging Face stand-in the project ships, and README's "Try it locally" with it."""

import io
import json
import re
import shlex
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from standins.asgi import serve
from standins.process import REPOSITORY

from hf_text_to_image.config import Settings
from hf_text_to_image.local_upstream import (
    BadRequest,
    build_app,
    draw,
    read_request,
    service_command,
)
from hf_text_to_image.main import create_app

README = (REPOSITORY / "README.md").read_text(encoding="utf-8")
HEADERS = {"Authorization": "Bearer local"}


def try_it_locally_commands() -> list[str]:
    """The shell commands of README's "Try it locally" section, in order."""
    section = README.split("## Try it locally", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    return [line for block in blocks for line in block.strip().splitlines()]


@pytest.fixture
async def upstream() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://upstream") as client:
        yield client


def body(prompt: str = "a red fox", **parameters: object) -> dict[str, object]:
    return {"inputs": prompt, "parameters": parameters}


def test_draw_is_a_png_of_the_size_asked_that_depends_on_prompt_and_seed() -> None:
    picture = Image.open(io.BytesIO(draw("a red fox", 200, 120)))

    assert (picture.format, picture.size) == ("PNG", (200, 120))
    assert draw("a red fox", 64, 64) == draw("a red fox", 64, 64)
    assert draw("a red fox", 64, 64) != draw("a blue fox", 64, 64)
    assert draw("a red fox", 64, 64, seed=1) != draw("a red fox", 64, 64, seed=2)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"{", "the body is not valid JSON"),
        (b"[]", "the body must be a JSON object"),
        (b'{"inputs": " "}', "inputs must be a non-empty string (the prompt)"),
        (b'{"inputs": "x", "parameters": []}', "parameters must be a JSON object"),
        (b'{"inputs": "x", "parameters": {"width": 4096}}', "width must be between 64 and 1024"),
        (b'{"inputs": "x", "parameters": {"height": "512"}}', "height must be an integer"),
        (b'{"inputs": "x", "parameters": {"seed": -1}}', "seed must be a non-negative integer"),
    ],
)
def test_read_request_refuses_what_the_api_refuses(raw: bytes, problem: str) -> None:
    with pytest.raises(BadRequest, match=re.escape(problem)):
        read_request(raw)


@pytest.mark.anyio
async def test_upstream_answers_a_png(upstream: httpx.AsyncClient) -> None:
    response = await upstream.post(
        "/models/local/sketch", json=body(width=128, height=96), headers=HEADERS
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-request-id"]
    assert Image.open(io.BytesIO(response.content)).size == (128, 96)


@pytest.mark.anyio
@pytest.mark.parametrize("authorization", [None, "Bearer ", "Basic abc"])
async def test_upstream_without_a_token_is_401_as_the_api(
    upstream: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}

    response = await upstream.post("/models/m", json=body(), headers=headers)

    assert response.status_code == 401
    assert response.json() == {"error": "Invalid credentials in Authorization header"}


@pytest.mark.anyio
async def test_upstream_bad_body_is_400_with_error(upstream: httpx.AsyncClient) -> None:
    response = await upstream.post("/models/m", content=b"not json", headers=HEADERS)

    assert response.status_code == 400
    assert response.json() == {"error": "the body is not valid JSON"}


@pytest.fixture
def running_upstream() -> Iterator[str]:
    """`python -m hf_text_to_image.local_upstream` as README runs it, on a free port."""
    process = subprocess.Popen(
        [sys.executable, "-m", "hf_text_to_image.local_upstream", "--port", "0"],
        cwd=REPOSITORY / "src",
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", first_line)
        assert match, first_line
        assert service_command(match.group(1)) in process.stdout.readline() + (
            process.stdout.readline()
        )
        yield match.group(1)
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def readme_settings(url: str) -> dict[str, str]:
    """The environment README's start command sets, pointed at `url` instead of port 9091."""
    [start] = [line for line in try_it_locally_commands() if "uvicorn" in line]
    words = shlex.split(start.replace("http://127.0.0.1:9091", url))
    return {
        name.lower(): value
        for name, _, value in (word.partition("=") for word in words)
        if name.isupper() and value
    }


@pytest.mark.anyio
async def test_try_it_locally_gives_a_picture_without_a_token(
    running_upstream: str, make_settings: Callable[..., Settings]
) -> None:
    commands = try_it_locally_commands()
    assert len(commands) == 2
    assert "python -m hf_text_to_image.local_upstream" in commands[0]
    assert commands[1].startswith("curl --fail-with-body ")
    files = re.findall(r"-F (\w+)=@(\S+)", commands[1])
    assert [name for name, _ in files] == ["json_description", "input_text"]
    settings = make_settings(hf_default_provider="auto", **readme_settings(running_upstream))
    assert settings.hf_token is None
    upload = {name: (Path(path).name, (REPOSITORY / path).read_bytes()) for name, path in files}

    async with serve(create_app(settings)) as client:
        response = await client.post("/process", files=upload)

    assert response.status_code == 200, response.text
    picture = Image.open(io.BytesIO(response.content))
    description = json.loads(upload["json_description"][1])
    parameters = description["parameters"]
    assert (picture.format, picture.size) == ("PNG", (parameters["width"], parameters["height"]))
