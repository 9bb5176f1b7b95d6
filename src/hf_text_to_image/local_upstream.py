"""A local stand-in for the Hugging Face API: `python -m hf_text_to_image.local_upstream`.

It serves the hf-inference route `POST /models/{model}` on this machine and answers a real
PNG drawn from the prompt (the same prompt and seed always give the same picture), so the
service can be tried without a token or a network. It answers as the real API does: a
bearer token is required (any word will do), and a bad body is a 400 with `{"error": ...}`.
The service reaches it with ALLOW_LOOPBACK_UPSTREAMS=true (README, Try it locally).
"""

import argparse
import hashlib
import io
import json
import socket
import textwrap
import time
import uuid
from typing import Any

import anyio
import uvicorn
from PIL import Image, ImageDraw
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

DEFAULT_PORT = 9091
DEFAULT_SIZE = 512
# The drawing is cheap up to here; the real API's own limits are the model's.
MAX_SIDE = 1024
MIN_SIDE = 64
MAX_BODY_BYTES = 1_000_000


class BadRequest(Exception):
    """A request the real API would refuse with 400 and this message in `error`."""


def error(status: int, message: str) -> JSONResponse:
    """The real API's error shape."""
    return JSONResponse({"error": message}, status_code=status)


def _side(parameters: dict[str, Any], name: str) -> int:
    value = parameters.get(name, DEFAULT_SIZE)
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadRequest(f"{name} must be an integer")
    if not MIN_SIDE <= value <= MAX_SIDE:
        raise BadRequest(f"{name} must be between {MIN_SIDE} and {MAX_SIDE}, not {value}")
    return value


def read_request(body: bytes) -> tuple[str, int, int, int]:
    """Prompt, width, height and seed from the hf-inference body, or BadRequest."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as failure:
        raise BadRequest("the body is not valid JSON") from failure
    if not isinstance(document, dict):
        raise BadRequest("the body must be a JSON object")
    prompt = document.get("inputs")
    if not isinstance(prompt, str) or not prompt.strip():
        raise BadRequest("inputs must be a non-empty string (the prompt)")
    parameters = document.get("parameters", {})
    if not isinstance(parameters, dict):
        raise BadRequest("parameters must be a JSON object")
    seed = parameters.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise BadRequest("seed must be a non-negative integer")
    return prompt, _side(parameters, "width"), _side(parameters, "height"), seed


def draw(prompt: str, width: int, height: int, seed: int = 0) -> bytes:
    """A PNG drawn from the prompt: colours and shapes from its hash, the words written on it."""
    digest = hashlib.sha256(f"{seed}:{prompt}".encode()).digest()
    top, bottom = digest[0:3], digest[3:6]
    picture = Image.new("RGB", (width, height))
    pen = ImageDraw.Draw(picture)
    for y in range(height):
        mix = y / max(1, height - 1)
        colour = tuple(round(a + (b - a) * mix) for a, b in zip(top, bottom, strict=True))
        pen.line([(0, y), (width, y)], fill=colour)
    for index in range(6):
        x, y, size = digest[6 + 3 * index : 9 + 3 * index]
        left, upper = x * width // 256, y * height // 256
        radius = 8 + size * min(width, height) // 1024
        fill = tuple(digest[(24 + index + k) % 32] for k in range(3))
        pen.ellipse([left - radius, upper - radius, left + radius, upper + radius], fill=fill)
    lines = textwrap.wrap(prompt, width=max(8, width // 8))[: max(1, height // 24)]
    pen.multiline_text((12, 12), "\n".join(lines), fill=(255, 255, 255), spacing=6)
    output = io.BytesIO()
    picture.save(output, format="PNG")
    return output.getvalue()


async def generate(request: Request) -> Response:
    """`POST /models/{model}`: the hf-inference route, answering `image/png`."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return error(401, "Invalid credentials in Authorization header")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return error(413, "Payload Too Large")
    try:
        prompt, width, height, seed = read_request(body)
    except BadRequest as refusal:
        return error(400, str(refusal))
    started = time.perf_counter()
    png = await anyio.to_thread.run_sync(draw, prompt, width, height, seed)
    headers = {
        "x-request-id": uuid.uuid4().hex,
        "x-compute-type": "cpu",
        "x-compute-time": f"{time.perf_counter() - started:.3f}",
    }
    return Response(png, media_type="image/png", headers=headers)


def build_app() -> Starlette:
    return Starlette(routes=[Route("/models/{model:path}", generate, methods=["POST"])])


def service_command(url: str) -> str:
    """The command line that starts the service against this upstream."""
    return (
        f"ALLOW_LOOPBACK_UPSTREAMS=true HF_MODEL_BASE_URL={url}/models/ "
        "uvicorn main:app --app-dir src --port 9090"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m hf_text_to_image.local_upstream",
        description="A local stand-in for the Hugging Face API that draws the prompt into a PNG.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port ({DEFAULT_PORT}; 0 picks a free one)"
    )
    arguments = parser.parse_args(argv)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((arguments.host, arguments.port))
    url = f"http://{arguments.host}:{sock.getsockname()[1]}"
    print(f"Local Hugging Face stand-in listening on {url} (any token; POST /models/<any id>)")
    print(f"Start the service against it:\n  {service_command(url)}", flush=True)
    config = uvicorn.Config(build_app(), log_level="warning", lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
