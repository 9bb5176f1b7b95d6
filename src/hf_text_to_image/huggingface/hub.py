"""Which Inference Providers serve a model, asked of the Hub and kept for a while."""

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from ..errors import InvalidInputError, UpstreamError
from .providers import ADAPTERS

logger = logging.getLogger(__name__)

TEXT_TO_IMAGE = "text-to-image"
MAX_CACHED_MODELS = 1024


@dataclass(frozen=True)
class ProviderEntry:
    provider: str
    provider_model: str
    task: str
    status: str


def parse_provider_mapping(document: Any) -> list[ProviderEntry]:
    """`inferenceProviderMapping` as a list, in the Hub's order; a dict and a list both occur."""
    mapping = document.get("inferenceProviderMapping") if isinstance(document, dict) else None
    if isinstance(mapping, dict):
        items = [
            {"provider": name, **value}
            for name, value in mapping.items()
            if isinstance(value, dict)
        ]
    elif isinstance(mapping, list):
        items = [item for item in mapping if isinstance(item, dict)]
    else:
        items = []
    return [
        ProviderEntry(
            provider=str(item.get("provider", "")),
            provider_model=str(item.get("providerId", "")),
            task=str(item.get("task", "")),
            status=str(item.get("status", "")),
        )
        for item in items
        if item.get("provider") and item.get("providerId")
    ]


def choose_providers(entries: list[ProviderEntry], model: str, wanted: str) -> list[ProviderEntry]:
    """The named provider; or for `auto` every live one, in the Hub's order, to fail over along.

    `auto` skips providers whose status is not `live` (staging, error): none live is an error
    naming them. A named provider is taken whatever its status (with a warning).
    """
    candidates = [e for e in entries if e.task == TEXT_TO_IMAGE and e.provider in ADAPTERS]
    if not candidates:
        raise InvalidInputError(
            f"No inference provider serves {model} for text-to-image; choose another model."
        )
    if wanted == "auto":
        live = [entry for entry in candidates if entry.status == "live"]
        if not live:
            statuses = ", ".join(f"{entry.provider} ({entry.status})" for entry in candidates)
            raise UpstreamError(
                f"No inference provider serves {model} live now: {statuses}; name one as "
                "provider to try it anyway, or try again later."
            )
        return live
    for entry in candidates:
        if entry.provider == wanted:
            if entry.status != "live":
                logger.warning("%s serves %s with status %s", wanted, model, entry.status)
            return [entry]
    served_by = ", ".join(entry.provider for entry in candidates)
    raise InvalidInputError(
        f"The provider {wanted} does not serve {model} for text-to-image; it is served by: "
        f"{served_by}."
    )


class ProviderMappings:
    """Asks the Hub which providers serve a model; answers are kept for `ttl` seconds."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        hub_url: str,
        *,
        ttl: float,
        timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._hub_url = hub_url.rstrip("/")
        self._ttl = ttl
        self._timeout = timeout
        self._clock = clock
        self._cache: OrderedDict[str, tuple[float, list[ProviderEntry]]] = OrderedDict()
        self.lookups = 0

    @property
    def cached_models(self) -> int:
        """Models whose providers are kept (at most MAX_CACHED_MODELS)."""
        return len(self._cache)

    async def entries(self, model: str, token: str) -> list[ProviderEntry]:
        cached = self._cache.get(model)
        if cached and cached[0] > self._clock():
            return cached[1]
        entries = await self._fetch(model, token)
        self._cache[model] = (self._clock() + self._ttl, entries)
        self._cache.move_to_end(model)
        while len(self._cache) > MAX_CACHED_MODELS:
            self._cache.popitem(last=False)
        return entries

    async def _fetch(self, model: str, token: str) -> list[ProviderEntry]:
        self.lookups += 1
        url = f"{self._hub_url}/api/models/{model}"
        try:
            response = await self._http.get(
                url,
                params={"expand": "inferenceProviderMapping"},
                headers={"Authorization": f"Bearer {token}"},
                timeout=self._timeout,
            )
        except httpx.HTTPError as error:
            raise UpstreamError(
                f"The Hugging Face Hub could not be reached to find a provider for {model} "
                f"({type(error).__name__})."
            ) from error
        if response.status_code == 404:
            raise InvalidInputError(f"The model {model} does not exist on the Hugging Face Hub.")
        if response.status_code in (401, 403):
            raise InvalidInputError(
                f"The Hub refuses to show {model} ({response.status_code}): it is private or "
                "gated; check the token and the model's access conditions."
            )
        if not response.is_success:
            raise UpstreamError(
                f"The Hugging Face Hub answered {response.status_code} when asked which "
                f"providers serve {model}.",
                status_code=response.status_code,
            )
        try:
            return parse_provider_mapping(response.json())
        except ValueError as error:
            raise UpstreamError(
                "The Hugging Face Hub answered something that is not JSON."
            ) from error
