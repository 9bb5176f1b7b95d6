"""Calls to one core engine: announce, heartbeat, going to sleep."""

import logging
from collections.abc import Mapping

import httpx

from ..errors import ForbiddenTargetError
from .models import ServiceDescription, ServiceStatus

logger = logging.getLogger(__name__)


class EngineError(Exception):
    """The engine could not be reached or refused a call; the message names which."""


class EngineClient:
    def __init__(self, http: httpx.AsyncClient, base_url: str, *, timeout: float) -> None:
        self._http = http
        self.base_url = base_url.rstrip("/")
        self._timeout = timeout

    async def _call(
        self, method: str, path: str, *, json: Mapping[str, object] | None = None
    ) -> httpx.Response:
        try:
            return await self._http.request(
                method, f"{self.base_url}{path}", json=json, timeout=self._timeout
            )
        except httpx.HTTPError as error:
            raise EngineError(f"{method} {path}: {type(error).__name__}") from error
        except ForbiddenTargetError as error:
            raise EngineError(f"{method} {path}: {error.message}") from error

    async def announce(self, description: ServiceDescription) -> str | None:
        """Register the service; on 409 (slug known) refresh it. Returns the engine's id for it."""
        body = description.model_dump(mode="json")
        response = await self._call("POST", "/services", json=body)
        if response.status_code == 409:
            service_id = await self.find_service_id(description.slug)
            response = await self._call("PATCH", f"/services/{service_id}", json=body)
            if response.is_success:
                return service_id
        if not response.is_success:
            raise EngineError(f"announce answered {response.status_code}")
        return _service_id(response)

    async def find_service_id(self, slug: str) -> str:
        response = await self._call("GET", f"/services/slug/{slug}")
        service_id = _service_id(response) if response.is_success else None
        if not service_id:
            raise EngineError(f"looking up the service by slug answered {response.status_code}")
        return service_id

    async def ping(self, slug: str) -> bool:
        """Heartbeat; False when the engine no longer knows the service (404)."""
        response = await self._call("POST", f"/services/{slug}/ping")
        if response.status_code == 404:
            return False
        if not response.is_success:
            raise EngineError(f"ping answered {response.status_code}")
        return True

    async def mark_sleeping(self, service_id: str) -> None:
        body = {"status": ServiceStatus.SLEEPING.value}
        response = await self._call("PATCH", f"/services/{service_id}", json=body)
        if not response.is_success:
            raise EngineError(f"marking the service sleeping answered {response.status_code}")


def _service_id(response: httpx.Response) -> str | None:
    try:
        document = response.json()
    except ValueError:
        return None
    service_id = document.get("id") if isinstance(document, dict) else None
    return str(service_id) if service_id else None
