"""The loopback stand-ins, in a process of their own: `python -m benchmarks.standins --port N`.

One plain ASGI app (no framework, so the stand-ins spend as little CPU as they can) serves
- the Hugging Face API: `POST /models/{model}` answers the configured image after the
  configured latency, counting the requests in flight;
- a core engine in the `storage_url` form: `GET /storage/{task id}.json|.txt` serves a task's
  two inputs, `POST /storage` takes the PNG (multipart), `PATCH /tasks/{id}` takes the report
  (in the `s3_*` form, moto's server holds the files and only the report comes here);
- the benchmark's controls: `PUT /_bench/upstream` sets latency and image (and clears the
  counts), `GET /_bench/progress` and `GET /_bench/stats` tell what the stand-ins saw.
Times are `time.monotonic()`, the system-wide monotonic clock the driver reads too.
"""

import argparse
import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

import uvicorn

from .images import CONTENT_TYPES, render

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
GOLDEN_RATIO_FRACTION = 0.6180339887498949
BENCH_TOKEN = "hf_BenchmarkStandInToken000000000000"  # noqa: S105 - made up, loopback only
BENCH_MODEL = "bench/text-to-image"
PROMPT = "A hummingbird over Zürich at dawn, watercolor".encode()
DESCRIPTION = json.dumps(
    {"api_token": BENCH_TOKEN, "model": BENCH_MODEL, "provider": "hf-inference"}
).encode()

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Handler = Callable[[str, bytes, Send], Awaitable[None]]


@dataclass(frozen=True)
class UpstreamConfig:
    latency: float = 0.0
    # Answer k waits latency * (1 + jitter * u_k), the u_k spread evenly over [-1, 1] (a golden
    # ratio sequence): any run of answers averages `latency`, in no fixed order.
    jitter: float = 0.0
    image_format: str = "png"  # "png", "jpeg" or "base64" (JSON around a PNG)
    image_bytes: int = 300_000  # the PNG's size, about (the JPEG is 1024x1024)


async def respond(send: Send, status: int, body: bytes, content_type: str) -> None:
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def respond_json(send: Send, document: Any, status: int = 200) -> None:
    await respond(send, status, json.dumps(document).encode(), "application/json")


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


class Upstream:
    """The inference API: the same image for every request, after the configured latency."""

    def __init__(self) -> None:
        self._rendered: dict[tuple[str, int], bytes] = {}
        self.in_flight = 0
        self.configure(UpstreamConfig())

    def configure(self, config: UpstreamConfig) -> None:
        key = (config.image_format, config.image_bytes)
        if key not in self._rendered:
            self._rendered[key] = render(config.image_format, config.image_bytes)
        self.config = config
        self.image = self._rendered[key]
        self.requests = 0
        self.peak_in_flight = self.in_flight

    def delay(self) -> float:
        evenly_spread = (self.requests * GOLDEN_RATIO_FRACTION) % 1.0 * 2.0 - 1.0
        return self.config.latency * (1.0 + self.config.jitter * evenly_spread)

    async def answer(self, path: str, body: bytes, send: Send) -> None:
        self.requests += 1
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay())
            await respond(send, 200, self.image, CONTENT_TYPES[self.config.image_format])
        finally:
            self.in_flight -= 1


class Engine:
    """The engine's storage and callback: inputs made up per task id, reports timed."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.fetch_started: dict[str, float] = {}
        self.reports: dict[str, tuple[str, float]] = {}
        self.data_out: dict[str, list[str]] = {}
        self.first_error: str | None = None
        self.stored = 0
        self.stored_without_png = 0

    async def serve_input(self, path: str, body: bytes, send: Send) -> None:
        key = path.removeprefix("/storage/")
        task_id, _, extension = key.rpartition(".")
        content = {"json": DESCRIPTION, "txt": PROMPT}.get(extension)
        if content is None:
            await respond_json(send, {"detail": "Object not found"}, 404)
            return
        self.fetch_started.setdefault(task_id, time.monotonic())
        await respond(send, 200, content, "application/octet-stream")

    async def store(self, path: str, body: bytes, send: Send) -> None:
        self.stored += 1
        if PNG_SIGNATURE not in body:
            self.stored_without_png += 1
        await respond_json(send, {"key": f"{uuid.uuid4()}.png"})

    async def take_report(self, path: str, body: bytes, send: Send) -> None:
        task_id = path.removeprefix("/tasks/")
        update = json.loads(body)
        self.reports[task_id] = (update["status"], time.monotonic())
        self.data_out[task_id] = update.get("data_out") or []
        if update["status"] != "finished" and self.first_error is None:
            self.first_error = str(update.get("error_message"))
        await respond_json(send, {"id": task_id, **update})

    def progress(self) -> dict[str, int]:
        errors = sum(status != "finished" for status, _ in self.reports.values())
        return {"reports": len(self.reports), "errors": errors}


class StandIns:
    """The ASGI app: routes by method and path prefix to the upstream, the engine, the controls."""

    def __init__(self) -> None:
        self.upstream = Upstream()
        self.engine = Engine()
        self._routes: tuple[tuple[str, str, Handler], ...] = (
            ("POST", "/models/", self.upstream.answer),
            ("GET", "/storage/", self.engine.serve_input),
            ("POST", "/storage", self.engine.store),
            ("PATCH", "/tasks/", self.engine.take_report),
            ("PUT", "/_bench/upstream", self._configure),
            ("GET", "/_bench/progress", self._progress),
            ("GET", "/_bench/stats", self._stats),
        )

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        body = await read_body(receive)
        handler = self._route(scope["method"], path)
        if handler is None:
            await respond_json(send, {"detail": "Not Found"}, 404)
            return
        await handler(path, body, send)

    def _route(self, method: str, path: str) -> Handler | None:
        for route_method, pattern, handler in self._routes:
            matches = path.startswith(pattern) if pattern.endswith("/") else path == pattern
            if method == route_method and matches:
                return handler
        return None

    async def _configure(self, path: str, body: bytes, send: Send) -> None:
        self.upstream.configure(UpstreamConfig(**json.loads(body)))
        self.engine.clear()
        await respond_json(send, asdict(self.upstream.config))

    async def _progress(self, path: str, body: bytes, send: Send) -> None:
        await respond_json(send, self.engine.progress())

    async def _stats(self, path: str, body: bytes, send: Send) -> None:
        engine = self.engine
        await respond_json(
            send,
            {
                "upstream_requests": self.upstream.requests,
                "upstream_peak_in_flight": self.upstream.peak_in_flight,
                "image_bytes": len(self.upstream.image),
                "fetch_started": engine.fetch_started,
                "reports": engine.reports,
                "data_out": engine.data_out,
                "first_error": engine.first_error,
                "stored": engine.stored,
                "stored_without_png": engine.stored_without_png,
            },
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args(argv).port
    config = uvicorn.Config(
        StandIns(),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        # Longer than the service's idle keep-alive, so no reused connection is closed under it.
        timeout_keep_alive=120,
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
