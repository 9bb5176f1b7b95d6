"""Stand-ins for the Inference Providers behind the router, the Hub's mapping and their CDNs.

Each provider speaks its own protocol (routes, bodies, answers, jobs to poll, failures) as
the facts gathered on them describe; `fail` makes a provider answer its failure instead.
Polling and result URLs point at the providers' own hosts, as the real ones do: the
service must re-root them on the router.
"""

import asyncio
import base64
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request

from .hf_api import render_image
from .responses import StandInJSONResponse as JSONResponse
from .responses import StandInResponse

CDN_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}


@dataclass
class RecordedCall:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class ProvidersStandIn:
    url: str = ""
    # Where images are served from; the API's own address unless a test moves it.
    cdn_base: str = ""
    # Per provider: make it answer its failure (a refused request, or a job that fails).
    fail: set[str] = field(default_factory=set)
    # Per provider: the router's answer while the provider is down (503, 500, ...), or, as
    # "hang", no answer at all until the client gives up.
    down: dict[str, int | str] = field(default_factory=dict)
    # Polls a job needs before it is done.
    polls_before_done: int = 2
    # The Hub's inferenceProviderMapping, per model id.
    mappings: dict[str, Any] = field(default_factory=dict)
    hub_lookups: int = 0
    calls: list[RecordedCall] = field(default_factory=list)
    # Set when the test ends: lets the requests held by "hang" go.
    released: threading.Event = field(default_factory=threading.Event)
    _jobs: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.app = self._build_app()

    def cdn_url(self, image_format: str) -> str:
        return f"{self.cdn_base or self.url}/cdn/{uuid.uuid4()}.{image_format}"

    def posts(self, prefix: str) -> list[RecordedCall]:
        return [
            call for call in self.calls if call.method == "POST" and call.path.startswith(prefix)
        ]

    def _record(self, request: Request, body: bytes) -> None:
        with self._lock:
            self.calls.append(
                RecordedCall(request.method, request.url.path, dict(request.headers), body)
            )

    def _job(self) -> str:
        job_id = uuid.uuid4().hex
        with self._lock:
            self._jobs[job_id] = 0
        return job_id

    def _poll(self, job_id: str) -> bool:
        """Count one poll; True once the job is done."""
        with self._lock:
            self._jobs[job_id] = self._jobs.get(job_id, 0) + 1
            return self._jobs[job_id] > self.polls_before_done

    def _build_app(self) -> FastAPI:
        app = FastAPI()

        @app.middleware("http")
        async def record(request: Request, call_next: Any) -> Any:
            self._record(request, await request.body())
            provider = request.url.path.strip("/").split("/", 1)[0]
            outage = self.down.get(provider)
            if outage == "hang":
                # Until the test ends: the client gives up first, and the server then stops
                # at once instead of waiting out a sleep.
                await asyncio.to_thread(self.released.wait, 60)
            if isinstance(outage, int):
                # The router's words when the provider behind it fails.
                message = f"Provider {provider} is unavailable, please try again later"
                return JSONResponse({"error": message}, outage)
            return await call_next(request)

        @app.get("/api/models/{model:path}")
        async def hub(model: str) -> JSONResponse:
            with self._lock:
                self.hub_lookups += 1
            if model not in self.mappings:
                return JSONResponse({"error": "Repository not found"}, 404)
            return JSONResponse({"id": model, "inferenceProviderMapping": self.mappings[model]})

        @app.get("/cdn/{name}")
        async def cdn(name: str) -> StandInResponse:
            image_format = CDN_FORMATS[name.rsplit(".", 1)[1]]
            return StandInResponse(
                render_image(image_format), media_type=f"image/{image_format.lower()}"
            )

        @app.post("/hf-inference/models/{model:path}")
        async def hf_inference(model: str) -> StandInResponse:
            if "hf-inference" in self.fail:
                return JSONResponse({"error": f"Model {model} is not supported"}, 404)
            return StandInResponse(render_image("JPEG"), media_type="image/jpeg")

        @app.post("/fal-ai/{route:path}")
        async def fal(route: str) -> JSONResponse:
            if "fal-ai" in self.fail:
                return JSONResponse({"detail": [{"msg": "image_size is invalid"}]}, 422)
            # fal's metadata says jpeg for what is in fact a PNG.
            return JSONResponse(
                {
                    "images": [
                        {
                            "url": self.cdn_url("png"),
                            "content_type": "image/jpeg",
                            "width": 64,
                            "height": 64,
                        }
                    ],
                    "timings": {"inference": 0.01},
                    "seed": 1,
                    "has_nsfw_concepts": [False],
                }
            )

        def prediction(job_id: str, status: str, output: Any, error: Any = None) -> dict[str, Any]:
            return {
                "id": job_id,
                "status": status,
                "output": output,
                "error": error,
                "urls": {
                    "get": f"https://api.replicate.com/v1/predictions/{job_id}",
                    "cancel": f"https://api.replicate.com/v1/predictions/{job_id}/cancel",
                },
            }

        @app.post("/replicate/v1/models/{owner}/{name}/predictions")
        @app.post("/replicate/v1/predictions")
        async def replicate_create(request: Request) -> JSONResponse:
            return JSONResponse(prediction(self._job(), "starting", None), 201)

        @app.get("/replicate/v1/predictions/{job_id}")
        async def replicate_get(job_id: str) -> JSONResponse:
            if not self._poll(job_id):
                return JSONResponse(prediction(job_id, "processing", None))
            if "replicate" in self.fail:
                return JSONResponse(prediction(job_id, "failed", None, "NSFW content detected"))
            return JSONResponse(prediction(job_id, "succeeded", [self.cdn_url("webp")]))

        def generations(provider: str, image_format: str) -> JSONResponse:
            if provider in self.fail:
                return JSONResponse(
                    {"error": {"message": "model not available", "type": "invalid_request_error"}},
                    400,
                )
            encoded = base64.b64encode(render_image(image_format)).decode("ascii")
            return JSONResponse({"id": uuid.uuid4().hex, "data": [{"b64_json": encoded}]})

        @app.post("/together/v1/images/generations")
        async def together() -> JSONResponse:
            return generations("together", "JPEG")

        @app.post("/nscale/v1/images/generations")
        async def nscale() -> JSONResponse:
            return generations("nscale", "WEBP")

        @app.post("/deepinfra/v1/openai/images/generations")
        async def deepinfra() -> JSONResponse:
            return generations("deepinfra", "PNG")

        def wavespeed_job(
            job_id: str, status: str, outputs: list[str], error: str = ""
        ) -> dict[str, Any]:
            return {
                "code": 200,
                "message": "success",
                "data": {
                    "id": job_id,
                    "status": status,
                    "outputs": outputs,
                    "error": error,
                    "urls": {"get": f"https://api.wavespeed.ai/api/v3/predictions/{job_id}/result"},
                },
            }

        @app.post("/wavespeed/api/v3/{route:path}")
        async def wavespeed_create(route: str) -> JSONResponse:
            return JSONResponse(wavespeed_job(self._job(), "created", []))

        @app.get("/wavespeed/api/v3/predictions/{job_id}/result")
        async def wavespeed_result(job_id: str) -> JSONResponse:
            if not self._poll(job_id):
                return JSONResponse(wavespeed_job(job_id, "processing", []))
            if "wavespeed" in self.fail:
                return JSONResponse(wavespeed_job(job_id, "failed", [], "content policy violation"))
            return JSONResponse(wavespeed_job(job_id, "completed", [self.cdn_url("jpeg")]))

        @app.post("/zai-org/api/paas/v4/async/images/generations")
        async def zai_create() -> JSONResponse:
            return JSONResponse(
                {
                    "id": self._job(),
                    "request_id": "r-1",
                    "task_status": "PROCESSING",
                    "model": "glm-image",
                }
            )

        @app.get("/zai-org/api/paas/v4/async-result/{job_id}")
        async def zai_result(job_id: str) -> JSONResponse:
            if not self._poll(job_id):
                return JSONResponse({"id": job_id, "task_status": "PROCESSING"})
            if "zai-org" in self.fail:
                return JSONResponse(
                    {"id": job_id, "task_status": "FAIL", "message": "generation failed"}
                )
            return JSONResponse(
                {
                    "id": job_id,
                    "task_status": "SUCCESS",
                    "image_result": [{"url": self.cdn_url("png")}],
                }
            )

        return app
