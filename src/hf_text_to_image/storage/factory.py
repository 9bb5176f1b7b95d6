"""The one place that knows every storage form: each task's form chooses its storage."""

import httpx

from ..engine.models import ServiceTask
from ..engine.storage import EngineHttpStorage
from .base import TaskStorage
from .s3 import S3ClientPool


class StorageFactory:
    """The engine's `storage_url` endpoint, or its S3 bucket, for one task."""

    def __init__(
        self, http: httpx.AsyncClient, s3_clients: S3ClientPool, *, timeout: float
    ) -> None:
        self._http = http
        self._s3_clients = s3_clients
        self._timeout = timeout

    async def for_task(self, service_task: ServiceTask) -> TaskStorage:
        if service_task.storage_url:
            return EngineHttpStorage(self._http, service_task.storage_url, timeout=self._timeout)
        # A ServiceTask holds exactly one form (engine/models.py checks it).
        assert service_task.s3 is not None
        return await self._s3_clients.storage_for(service_task.s3)
