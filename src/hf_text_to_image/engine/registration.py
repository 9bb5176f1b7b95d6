"""Each engine's life cycle: announce once serving, heartbeat, re-announce, sleep on shutdown."""

import asyncio
import functools
import logging

import httpx

from ..config import Settings
from ..pacing import Pacing
from ..supervision import spawn_forever
from .client import EngineClient, EngineError
from .models import ServiceDescription

logger = logging.getLogger(__name__)

SELF_CHECK_TIMEOUT = 10.0
SELF_CHECK_INTERVAL = 0.1
SLEEP_NOTICE_TIMEOUT = 5.0


async def wait_until_serving(http: httpx.AsyncClient, status_url: str) -> None:
    """Poll our own /status through SERVICE_URL: the engine calls it before it registers us."""
    while True:
        try:
            response = await http.get(status_url, timeout=1.0)
            if response.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(SELF_CHECK_INTERVAL)


class EngineRegistration:
    """Keeps the service registered with one engine for as long as it runs."""

    def __init__(
        self, client: EngineClient, description: ServiceDescription, settings: Settings
    ) -> None:
        self.client = client
        self._description = description
        self._settings = settings
        self.announced = False
        self.service_id: str | None = None
        self.announces = 0

    async def run(self, serving: asyncio.Event) -> None:
        await serving.wait()
        while True:
            if not self.announced:
                await self._announce_with_retries()
            await asyncio.sleep(self._settings.heartbeat_interval)
            if self.announced:
                await self._heartbeat()

    async def _announce_with_retries(self) -> None:
        retries = self._settings.engine_announce_retries
        for attempt in range(1, retries + 1):
            try:
                self.service_id = await self.client.announce(self._description)
            except EngineError as error:
                logger.warning(
                    "announce to %s failed (%d/%d): %s",
                    self.client.base_url,
                    attempt,
                    retries,
                    error,
                )
            else:
                self.announced = True
                self.announces += 1
                logger.info("announced to %s", self.client.base_url)
                return
            if attempt < retries:
                await asyncio.sleep(self._settings.engine_announce_retry_delay)
        logger.error(
            "could not announce to %s after %d attempts; serving anyway and trying again in %g s",
            self.client.base_url,
            retries,
            self._settings.heartbeat_interval,
        )

    async def _heartbeat(self) -> None:
        try:
            known = await self.client.ping(self._description.slug)
        except EngineError as error:
            logger.warning("heartbeat to %s failed: %s", self.client.base_url, error)
            return
        if not known:
            logger.warning("%s no longer knows the service; announcing again", self.client.base_url)
            self.announced = False
            await self._announce_with_retries()

    async def mark_sleeping(self) -> None:
        try:
            service_id = self.service_id or await self.client.find_service_id(
                self._description.slug
            )
            await self.client.mark_sleeping(service_id)
        except EngineError as error:
            logger.warning("could not tell %s the service sleeps: %s", self.client.base_url, error)
        else:
            logger.info("told %s the service sleeps", self.client.base_url)


class Registrations:
    """Owns the registration task of every engine in ENGINE_URLS; cancels them on stop."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        description: ServiceDescription,
        settings: Settings,
        *,
        pacing: Pacing,
    ) -> None:
        self._http = http
        self._settings = settings
        self._pacing = pacing
        self.engines = [
            EngineRegistration(
                EngineClient(http, url, timeout=settings.engine_request_timeout),
                description,
                settings,
            )
            for url in settings.engine_url_strings
        ]
        self._serving = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        if not self.engines:
            logger.info("no ENGINE_URLS: running on its own (direct endpoint and /docs)")
            return
        self._tasks.append(spawn_forever("self-check", self._wait_for_server, self._pacing))
        self._tasks.extend(
            spawn_forever(
                f"engine {engine.client.base_url}",
                functools.partial(engine.run, self._serving),
                self._pacing,
            )
            for engine in self.engines
        )

    async def _wait_for_server(self) -> None:
        status_url = f"{self._settings.service_url_string}/status"
        try:
            async with asyncio.timeout(SELF_CHECK_TIMEOUT):
                await wait_until_serving(self._http, status_url)
        except TimeoutError:
            logger.warning("%s did not answer; announcing anyway", status_url)
        self._serving.set()

    async def stop(self, *, notify: bool = True) -> None:
        """Cancel the loops, then tell every engine the service sleeps (bounded in time).

        `notify=False` when other replicas still serve: their pings keep the service awake.
        """
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if not notify:
            logger.info("other replicas still serve: the engines are not told the service sleeps")
        elif self.engines:
            try:
                async with asyncio.timeout(SLEEP_NOTICE_TIMEOUT):
                    await asyncio.gather(*(engine.mark_sleeping() for engine in self.engines))
            except TimeoutError:
                logger.warning(
                    "engines did not take the sleep notice within %g s", SLEEP_NOTICE_TIMEOUT
                )
