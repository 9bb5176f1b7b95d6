"""A Hugging Face inference API stand-in: same routes, bodies, answers and errors as the real one.

`POST /models/{model}` (the hf-inference route) and `POST /endpoint` (a dedicated endpoint that
answers JSON base64) both answer per a script of `Answer`s; once the script is used up they
answer the default. It records every request and counts requests in flight.
"""

import asyncio
import base64
import io
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from PIL import Image

from .responses import StandInJSONResponse as JSONResponse
from .responses import StandInResponse


def render_image(image_format: str = "PNG", size: tuple[int, int] = (64, 64)) -> bytes:
    picture = Image.new("RGB", size, (20, 120, 220))
    for x in range(size[0]):
        picture.putpixel((x, (x * 7) % size[1]), (255, x % 256, 0))
    output = io.BytesIO()
    picture.save(output, format=image_format)
    return output.getvalue()


class ConnectionDropped(Exception):
    """Raised mid-body so that uvicorn drops the connection, as a crashed upstream would."""


def cut_short(content: bytes, cut_after: int, media_type: str) -> StreamingResponse:
    async def first_bytes_then_drop() -> AsyncIterator[bytes]:
        yield content[:cut_after]
        raise ConnectionDropped

    headers = {"content-length": str(len(content))}
    return StreamingResponse(first_bytes_then_drop(), headers=headers, media_type=media_type)


@dataclass
class Answer:
    status: int = 200
    body: bytes | None = None  # None: a freshly rendered image in `image_format`
    image_format: str = "PNG"
    json_body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    # No answer at all until the test ends (the client gives up first).
    hang: bool = False
    # Send only this many bytes of a body announced whole, then drop the connection.
    cut_after: int | None = None


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: bytes


class HuggingFaceStandIn:
    def __init__(self) -> None:
        self.script: list[Answer] = []
        self.default = Answer()
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.peak_in_flight = 0
        self.delay = 0.0
        # Cleared, it holds every request until set again: lets a test keep tasks running.
        self.gate = threading.Event()
        self.gate.set()
        # Set when the test ends: lets the requests held by `Answer(hang=True)` go.
        self.released = threading.Event()
        self._lock = threading.Lock()
        self.app = self._build_app()

    def answer_with(self, *answers: Answer) -> None:
        with self._lock:
            self.script.extend(answers)

    def _next_answer(self) -> Answer:
        with self._lock:
            return self.script.pop(0) if self.script else self.default

    def _build_app(self) -> FastAPI:
        app = FastAPI()

        async def handle(request: Request) -> Response:
            body = await request.body()
            with self._lock:
                self.requests.append(RecordedRequest(request.url.path, dict(request.headers), body))
                self.in_flight += 1
                self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            try:
                answer = self._next_answer()
                await asyncio.sleep(answer.delay or self.delay)
                if answer.hang:
                    await asyncio.to_thread(self.released.wait, 60)
                if not self.gate.is_set():
                    await asyncio.to_thread(self.gate.wait, 60)
                if answer.json_body is not None:
                    return JSONResponse(answer.json_body, answer.status, headers=answer.headers)
                if answer.status != 200:
                    return JSONResponse({"error": "failure"}, answer.status, headers=answer.headers)
                content = (
                    answer.body if answer.body is not None else render_image(answer.image_format)
                )
                media_type = f"image/{answer.image_format.lower()}"
                if answer.cut_after is not None:
                    return cut_short(content, answer.cut_after, media_type)
                return StandInResponse(content, 200, headers=answer.headers, media_type=media_type)
            finally:
                with self._lock:
                    self.in_flight -= 1

        @app.post("/models/{model:path}")
        async def model_route(request: Request) -> Response:
            return await handle(request)

        @app.post("/endpoint")
        async def endpoint_route(request: Request) -> Response:
            """Like a dedicated endpoint of seed 004: JSON `{"image": "<base64>"}`."""
            response = await handle(request)
            if response.status_code != 200 or response.media_type == "application/json":
                return response
            encoded = base64.b64encode(bytes(response.body)).decode("ascii")
            return JSONResponse({"image": encoded})

        return app
