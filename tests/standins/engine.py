"""A Swiss AI Center core engine stand-in, faithful to the released engine's protocol.

It registers services (checking their /status first, 409 on a known slug), takes pings,
accepts task updates only in the shape the real engine accepts (422 otherwise), serves
`storage_url` storage (GET without Content-Type, POST multipart `file`), and creates tasks
from a user's `curl -F` upload. Failures can be injected.
"""

import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI, HTTPException, Request, UploadFile
from pydantic import BaseModel, ConfigDict

from .responses import StandInResponse

TASK_STATUSES = {
    "pending",
    "fetching",
    "processing",
    "saving",
    "finished",
    "error",
    "scheduled",
    "skipped",
    "archived",
    "unavailable",
}


class TaskUpdateIn(BaseModel):
    """What the engine's PATCH /tasks/{id} validates: a list `data_out`, a lower-case status."""

    model_config = ConfigDict(extra="forbid")

    status: str
    data_out: list[str]
    error_message: str | None = None


@dataclass
class EngineStandIn:
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    announces: list[dict[str, Any]] = field(default_factory=list)
    pings: list[str] = field(default_factory=list)
    service_patches: list[dict[str, Any]] = field(default_factory=list)
    callbacks: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    storage: dict[str, bytes] = field(default_factory=dict)
    callback_failures: int = 0
    refuse_uploads: bool = False
    storage_get_status: int = 200
    public_url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.app = self._build_app()

    def forget(self, slug: str) -> None:
        """Act like an engine restarted on an empty database."""
        with self.lock:
            self.services.pop(slug, None)

    def reports_for(self, task_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [body for tid, body in self.callbacks if tid == task_id]

    def _build_app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/services")
        async def create_service(request: Request) -> dict[str, Any]:
            description = await request.json()
            async with httpx.AsyncClient() as client:
                try:
                    status = await client.get(f"{description['url']}/status", timeout=5)
                except httpx.HTTPError:
                    raise HTTPException(503, "Service not reachable") from None
            if status.status_code != 200:
                raise HTTPException(503, "Service not available")
            with self.lock:
                self.announces.append(description)
                if description["slug"] in self.services:
                    raise HTTPException(409, "Service already exists")
                service = {**description, "id": str(uuid.uuid4())}
                self.services[description["slug"]] = service
            return service

        @app.get("/services/slug/{slug}")
        async def service_by_slug(slug: str) -> dict[str, Any]:
            with self.lock:
                if slug not in self.services:
                    raise HTTPException(404, "Service not found")
                return self.services[slug]

        @app.patch("/services/{service_id}")
        async def update_service(service_id: str, request: Request) -> dict[str, Any]:
            patch = await request.json()
            with self.lock:
                self.service_patches.append(patch)
                for service in self.services.values():
                    if service["id"] == service_id:
                        service.update(patch)
                        return service
            raise HTTPException(404, "Service not found")

        @app.post("/services/{slug}/ping")
        async def ping(slug: str) -> dict[str, str]:
            with self.lock:
                self.pings.append(slug)
                if slug not in self.services:
                    raise HTTPException(404, "Service not found")
            return {"status": "ok"}

        @app.patch("/tasks/{task_id}")
        async def task_update(task_id: str, update: TaskUpdateIn) -> dict[str, Any]:
            if update.status not in TASK_STATUSES:
                raise HTTPException(422, "invalid status")
            with self.lock:
                if self.callback_failures > 0:
                    self.callback_failures -= 1
                    raise HTTPException(500, "database unavailable")
                self.callbacks.append((task_id, update.model_dump()))
                task = self.tasks.setdefault(task_id, {"id": task_id})
                task.update(update.model_dump())
                return task

        @app.get("/tasks/{task_id}")
        async def get_task(task_id: str) -> dict[str, Any]:
            with self.lock:
                if task_id not in self.tasks:
                    raise HTTPException(404, "Task not found")
                return self.tasks[task_id]

        @app.get("/storage/{key}")
        async def storage_get(key: str) -> StandInResponse:
            with self.lock:
                if key not in self.storage:
                    raise HTTPException(404, "Object not found")
                data = self.storage[key]
            if self.storage_get_status != 200:
                raise HTTPException(self.storage_get_status, "storage failure")
            response = StandInResponse(data)
            del response.headers["content-type"]
            return response

        @app.post("/storage")
        async def storage_post(file: UploadFile) -> dict[str, str]:
            if self.refuse_uploads:
                raise HTTPException(500, "storage unavailable")
            extension = (
                "." + file.filename.rsplit(".", 1)[-1] if "." in (file.filename or "") else ""
            )
            key = f"{uuid.uuid4()}{extension}"
            data = await file.read()
            with self.lock:
                self.storage[key] = data
            return {"key": key}

        @app.post("/{slug}")
        async def submit(
            slug: str, json_description: UploadFile, input_text: UploadFile
        ) -> dict[str, Any]:
            """The user's `curl -F` to the engine: store the files, create the task, post it."""
            with self.lock:
                service = self.services.get(slug)
            if service is None:
                raise HTTPException(404, "Service not found")
            keys = []
            for upload, declared in (
                (json_description, "application/json"),
                (input_text, "text/plain"),
            ):
                if upload.content_type != declared:
                    raise HTTPException(400, f"File {upload.filename} must be {declared}")
                extension = (
                    "." + upload.filename.rsplit(".", 1)[-1]
                    if "." in (upload.filename or "")
                    else ""
                )
                key = f"{uuid.uuid4()}{extension}"
                data = await upload.read()
                with self.lock:
                    self.storage[key] = data
                keys.append(key)
            task_id = str(uuid.uuid4())
            task = {
                "id": task_id,
                "data_in": keys,
                "data_out": None,
                "status": "pending",
                "service_id": service["id"],
                "pipeline_execution_id": None,
                "error_message": None,
            }
            with self.lock:
                self.tasks[task_id] = dict(task)
            service_task = {
                "task": task,
                "storage_url": f"{self.public_url}/storage",
                "callback_url": f"{self.public_url}/tasks/{task_id}",
            }
            async with httpx.AsyncClient() as client:
                answer = await client.post(
                    f"{service['url']}/compute", json=service_task, timeout=10
                )
            if answer.status_code != 200:
                with self.lock:
                    del self.tasks[task_id]
                raise HTTPException(500, f"Service answered {answer.status_code}")
            return task

        return app
