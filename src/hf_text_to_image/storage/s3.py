"""The engine's S3 bucket (the `s3_*` form of a task), through aiobotocore.

Clients are kept per set of credentials and reused: building one loads botocore's service
model, which costs far more CPU than a request.
"""

import hashlib
import logging
import uuid
from collections import OrderedDict
from contextlib import AbstractAsyncContextManager
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from botocore.exceptions import BotoCoreError, ClientError

from ..engine.models import S3Credentials
from ..errors import StorageError

logger = logging.getLogger(__name__)

_ERROR_ADVICE = {
    "NoSuchKey": "is not in the bucket",
    "NoSuchBucket": "cannot be reached: the bucket does not exist",
    "InvalidAccessKeyId": "cannot be reached: the engine's S3 access key is not valid",
    "SignatureDoesNotMatch": "cannot be reached: the engine's S3 secret key is not valid",
    "AccessDenied": "cannot be reached: the engine's S3 credentials lack permission",
}


def describe_s3_failure(error: Exception, what: str) -> str:
    """A sentence for an S3 failure that names no credential."""
    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in ("404", "NoSuchKey"):
            code = "NoSuchKey"
        advice = _ERROR_ADVICE.get(code, f"failed in the object store ({code or 'error'})")
        return f"{what} {advice}."
    return f"{what} failed: the object store could not be reached ({type(error).__name__})."


class S3Storage:
    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    async def get(self, key: str, *, max_bytes: int) -> bytes:
        try:
            response = await self._client.get_object(Bucket=self._bucket, Key=key)
            async with response["Body"] as body:
                if response.get("ContentLength", 0) > max_bytes:
                    raise StorageError(f"The input file {key} is larger than {max_bytes} bytes.")
                data: bytes = await body.read()
                return data
        except (ClientError, BotoCoreError, OSError) as error:
            raise StorageError(describe_s3_failure(error, f"The input file {key}")) from error

    async def put(self, data: bytes, *, filename: str, content_type: str) -> str:
        extension = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
        key = f"{uuid.uuid4()}.{extension}"
        try:
            await self._client.put_object(
                Bucket=self._bucket, Key=key, Body=data, ContentType=content_type
            )
        except (ClientError, BotoCoreError, OSError) as error:
            raise StorageError(describe_s3_failure(error, "Storing the result")) from error
        return key


class S3ClientPool:
    """A few open S3 clients, keyed by endpoint and credentials, closed on shutdown."""

    def __init__(self, *, timeout: float, max_clients: int = 8) -> None:
        self._session = AioSession()
        self._config = AioConfig(
            s3={"addressing_style": "path"},
            connect_timeout=timeout,
            read_timeout=timeout,
            retries={"max_attempts": 3, "mode": "standard"},
        )
        self._max_clients = max_clients
        self._clients: OrderedDict[str, tuple[AbstractAsyncContextManager[Any], Any]] = (
            OrderedDict()
        )

    async def storage_for(self, credentials: S3Credentials) -> S3Storage:
        secret = credentials.secret_access_key.get_secret_value()
        cache_key = hashlib.sha256(
            "\0".join(
                [credentials.host, credentials.region, credentials.access_key_id, secret]
            ).encode()
        ).hexdigest()
        entry = self._clients.get(cache_key)
        if entry is None:
            context = self._session.create_client(
                "s3",
                endpoint_url=credentials.host,
                region_name=credentials.region,
                aws_access_key_id=credentials.access_key_id,
                aws_secret_access_key=secret,
                config=self._config,
            )
            try:
                client = await context.__aenter__()
            except (BotoCoreError, ValueError) as error:
                raise StorageError(
                    f"The S3 endpoint {credentials.host} cannot be used ({type(error).__name__})."
                ) from error
            entry = (context, client)
            self._clients[cache_key] = entry
            while len(self._clients) > self._max_clients:
                _, (old_context, _) = self._clients.popitem(last=False)
                await old_context.__aexit__(None, None, None)
        self._clients.move_to_end(cache_key)
        return S3Storage(entry[1], credentials.bucket)

    async def close(self) -> None:
        while self._clients:
            _, (context, _) = self._clients.popitem()
            await context.__aexit__(None, None, None)
