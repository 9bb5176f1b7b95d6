"""The engine's S3 bucket (the `s3_*` form of a task), through obstore (Rust's object_store).

Signing, connections and retries run in obstore's own threads, without the GIL: a task's
three S3 requests cost ~3 ms of CPU where aiobotocore took 6.5-8 (README, Performance).
A store is built once per set of credentials, in a worker thread, one build at a time,
and reused; a few are kept.
"""

import asyncio
import hashlib
import re
import socket
import time
import uuid
from collections import OrderedDict
from datetime import timedelta
from typing import TYPE_CHECKING

import anyio
import httpx
import obstore
from obstore.exceptions import BaseError as ObjectStoreError
from obstore.store import S3Store

from ..engine.models import S3Credentials
from ..errors import StorageError
from ..outbound import parse_ip
from ..transport import GuardedResolver

if TYPE_CHECKING:  # a TypedDict that exists for type checkers only
    from obstore.store import S3Credential

# The S3 error code in the XML answer obstore quotes (`<Code>NoSuchKey</Code>`).
_S3_ERROR_CODE = re.compile(r"<Code>([A-Za-z0-9.]{1,64})</Code>")
_ERROR_ADVICE = {
    "NoSuchKey": "is not in the bucket",
    "NoSuchBucket": "cannot be reached: the bucket does not exist",
    "InvalidAccessKeyId": "cannot be reached: the engine's S3 access key is not valid",
    "SignatureDoesNotMatch": "cannot be reached: the engine's S3 secret key is not valid",
    "AccessDenied": "cannot be reached: the engine's S3 credentials lack permission",
}
_FAILURES = (ObjectStoreError, OSError)


def describe_s3_failure(error: Exception, what: str) -> str:
    """A sentence for an S3 failure that names no credential (nor quotes the store's words)."""
    found = _S3_ERROR_CODE.search(str(error))
    code = found.group(1) if found else ""
    if not code and isinstance(error, FileNotFoundError):
        code = "NoSuchKey"
    if code:
        advice = _ERROR_ADVICE.get(code, f"failed in the object store ({code})")
        return f"{what} {advice}."
    return f"{what} failed: the object store could not be reached ({type(error).__name__})."


class S3Storage:
    def __init__(self, store: S3Store) -> None:
        self._store = store

    async def get(self, key: str, *, max_bytes: int) -> bytes:
        try:
            result = await obstore.get_async(self._store, key)
            if result.meta["size"] > max_bytes:
                raise StorageError(f"The input file {key} is larger than {max_bytes} bytes.")
            return bytes(await result.bytes_async())
        except _FAILURES as error:
            raise StorageError(describe_s3_failure(error, f"The input file {key}")) from error

    async def put(self, data: bytes, *, filename: str, content_type: str) -> str:
        extension = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
        key = f"{uuid.uuid4()}.{extension}"
        try:
            await obstore.put_async(
                self._store, key, data, attributes={"Content-Type": content_type}
            )
        except _FAILURES as error:
            raise StorageError(describe_s3_failure(error, "Storing the result")) from error
        return key


def build_store(credentials: S3Credentials, *, timeout: float, connections: int) -> S3Store:
    """A store for one bucket: path-style, plain http allowed, these credentials and no others.

    The credentials are handed over by a provider, so that no AWS_* variable of the
    environment (a session token, say) gets mixed into the engine's.
    """
    secret: S3Credential = {
        "access_key_id": credentials.access_key_id,
        "secret_access_key": credentials.secret_access_key.get_secret_value(),
        "token": None,
        "expires_at": None,
    }
    return S3Store(
        credentials.bucket,
        endpoint=credentials.host,
        region=credentials.region,
        virtual_hosted_style_request=False,
        skip_signature=False,
        credential_provider=lambda: secret,
        client_options={
            "allow_http": True,
            "connect_timeout": timedelta(seconds=timeout),
            "timeout": timedelta(seconds=timeout),
            "pool_max_idle_per_host": str(connections),
        },
        retry_config={
            "max_retries": 2,
            "retry_timeout": timedelta(seconds=timeout),
            "backoff": {
                "init_backoff": timedelta(milliseconds=100),
                "max_backoff": timedelta(seconds=2),
                "base": 2,
            },
        },
    )


# A store's endpoint is the address its name had when it was built: built again after this
# many seconds, it follows an object store that moved (a restarted container, say).
PINNED_ADDRESS_SECONDS = 60.0


class S3ClientPool:
    """A few S3 stores, keyed by endpoint, bucket and credentials, built off the event loop.

    `connections`: idle connections kept per endpoint; a task holds two at most (its two
    inputs at once), so twice MAX_CONCURRENT_TASKS keeps every one of them warm.
    """

    def __init__(
        self,
        *,
        timeout: float,
        resolver: GuardedResolver,
        connections: int = 32,
        max_clients: int = 8,
    ) -> None:
        self._timeout = timeout
        self._resolver = resolver
        self._connections = connections
        self._max_clients = max_clients
        self._stores: OrderedDict[str, tuple[float, S3Store]] = OrderedDict()
        self._building = asyncio.Lock()

    async def storage_for(self, credentials: S3Credentials) -> S3Storage:
        cache_key = hashlib.sha256(
            "\0".join(
                [
                    credentials.host,
                    credentials.region,
                    credentials.bucket,
                    credentials.access_key_id,
                    credentials.secret_access_key.get_secret_value(),
                ]
            ).encode()
        ).hexdigest()
        entry = self._fresh(cache_key)
        if entry is None:
            async with self._building:  # tasks arriving together wait for the one build
                entry = self._fresh(cache_key) or (
                    time.monotonic(),
                    await self._build(credentials),
                )
                self._stores[cache_key] = entry
                while len(self._stores) > self._max_clients:
                    self._stores.popitem(last=False)
        self._stores.move_to_end(cache_key)
        return S3Storage(entry[1])

    def _fresh(self, cache_key: str) -> tuple[float, S3Store] | None:
        """The store kept for these credentials, unless its pinned address is too old."""
        entry = self._stores.get(cache_key)
        if entry is not None and time.monotonic() - entry[0] > PINNED_ADDRESS_SECONDS:
            return None
        return entry

    async def _build(self, credentials: S3Credentials) -> S3Store:
        pinned = credentials.model_copy(update={"host": await self._checked_endpoint(credentials)})
        try:
            return await anyio.to_thread.run_sync(
                lambda: build_store(pinned, timeout=self._timeout, connections=self._connections)
            )
        except (ObjectStoreError, ValueError, TypeError) as error:
            raise StorageError(
                f"The S3 endpoint {credentials.host} cannot be used ({type(error).__name__})."
            ) from error

    async def _checked_endpoint(self, credentials: S3Credentials) -> str:
        """The endpoint as the connect-time guard admits it; plain http pinned to its address.

        obstore resolves names with its own resolver, which the guard cannot reach: an http
        endpoint is handed over as the address the guard checked, so that no later answer
        changes where it connects. https keeps its name, which TLS then verifies.
        """
        url = httpx.URL(credentials.host)
        self._resolver.check_literal(url.host)
        if parse_ip(url.host) is not None:
            return credentials.host
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            [first, *_] = await self._resolver.resolve(url.host, port, socket.AF_UNSPEC)
        except OSError as error:
            raise StorageError(
                f"The S3 endpoint {url.host} could not be resolved ({type(error).__name__})."
            ) from error
        if url.scheme == "https":
            return credentials.host
        address = first["host"]
        return f"http://{f'[{address}]' if ':' in address else address}:{port}"

    async def close(self) -> None:
        """Forget the stores; their connections close as they are dropped."""
        self._stores.clear()
