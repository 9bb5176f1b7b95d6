"""The engine's own storage endpoint (the `storage_url` form of a task)."""

from urllib.parse import quote

import httpx

from ..bodies import read_at_most
from ..errors import StorageError


class EngineHttpStorage:
    def __init__(self, http: httpx.AsyncClient, storage_url: str, *, timeout: float) -> None:
        self._http = http
        self._base_url = storage_url.rstrip("/")
        self._timeout = timeout

    async def get(self, key: str, *, max_bytes: int) -> bytes:
        url = f"{self._base_url}/{quote(key, safe='')}"
        try:
            async with self._http.stream("GET", url, timeout=self._timeout) as response:
                if response.status_code == 404:
                    raise StorageError(
                        f"The input file {key} is not in the engine's storage (404)."
                    )
                if not response.is_success:
                    raise StorageError(
                        f"The engine's storage answered {response.status_code} for the input file {key}."
                    )
                body, cut_short = await read_at_most(response, max_bytes)
                if cut_short:
                    raise StorageError(f"The input file {key} is larger than {max_bytes} bytes.")
                return body
        except httpx.HTTPError as error:
            raise StorageError(
                f"The engine's storage could not be reached to read {key} ({type(error).__name__})."
            ) from error

    async def put(self, data: bytes, *, filename: str, content_type: str) -> str:
        try:
            response = await self._http.post(
                self._base_url,
                files={"file": (filename, data, content_type)},
                timeout=self._timeout,
            )
        except httpx.HTTPError as error:
            raise StorageError(
                f"The engine's storage could not be reached to store the result ({type(error).__name__})."
            ) from error
        if not response.is_success:
            raise StorageError(f"The engine's storage refused the result ({response.status_code}).")
        try:
            key = response.json()["key"]
        except (ValueError, KeyError, TypeError) as error:
            raise StorageError(
                "The engine's storage answered without the stored file's key."
            ) from error
        if not isinstance(key, str) or not key:
            raise StorageError("The engine's storage answered an empty key for the stored file.")
        return key
