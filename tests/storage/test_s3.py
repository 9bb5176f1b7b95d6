"""S3 storage against moto's server mode: the real S3 wire protocol on loopback."""

import asyncio
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from obstore.exceptions import GenericError, PermissionDeniedError
from pydantic import SecretStr
from standins.servers import ConnectionWitness

from hf_text_to_image.engine.models import S3Credentials
from hf_text_to_image.errors import ForbiddenTargetError, StorageError
from hf_text_to_image.outbound import ConnectPolicy, OutboundPolicy, Resolver, resolve_with_system
from hf_text_to_image.storage import s3
from hf_text_to_image.storage.s3 import S3ClientPool, describe_s3_failure
from hf_text_to_image.transport import GuardedResolver

PUBLIC_ONLY = OutboundPolicy(allowed_schemes=("https",), allowed_hosts=(), allowed_networks=())


def loopback_guard(*named: str, resolver: Resolver = resolve_with_system) -> GuardedResolver:
    """The connect-time guard, with the object store's host (loopback) named by the operator."""
    hosts = frozenset(named or ("127.0.0.1",))
    return GuardedResolver(ConnectPolicy(PUBLIC_ONLY, hosts), resolver, timeout=5)


def boto3_client(endpoint: str) -> Any:
    """The engine's side of the bucket: boto3, as the engine would put and read objects."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="k",
        aws_secret_access_key="s",
    )


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[tuple[str, str]]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3_client(endpoint)
    bucket = f"engine-{uuid.uuid4()}"  # moto's state is shared by every server in the process
    client.create_bucket(Bucket=bucket)
    yield endpoint, bucket
    server.stop()


def credentials(endpoint: str, bucket: str) -> S3Credentials:
    return S3Credentials(
        access_key_id="minio",
        secret_access_key=SecretStr("minio123"),
        region="us-east-1",
        host=endpoint,
        bucket=bucket,
    )


@pytest.mark.anyio
async def test_put_then_get_round_trips(s3_endpoint: tuple[str, str]) -> None:
    pool = S3ClientPool(timeout=5, resolver=loopback_guard())
    try:
        storage = await pool.storage_for(credentials(*s3_endpoint))
        key = await storage.put(b"\x89PNG data", filename="result.png", content_type="image/png")
        assert key.endswith(".png")
        uuid.UUID(key.removesuffix(".png"))
        assert await storage.get(key, max_bytes=1000) == b"\x89PNG data"
        assert await pool.storage_for(credentials(*s3_endpoint)) is not storage
        endpoint, bucket = s3_endpoint
        stored = boto3_client(endpoint).head_object(Bucket=bucket, Key=key)
        assert stored["ContentType"] == "image/png"
    finally:
        await pool.close()


@pytest.mark.anyio
async def test_missing_key_and_bucket_are_storage_errors(s3_endpoint: tuple[str, str]) -> None:
    pool = S3ClientPool(timeout=5, resolver=loopback_guard())
    try:
        storage = await pool.storage_for(credentials(*s3_endpoint))
        with pytest.raises(StorageError, match=r"missing\.json is not in the bucket"):
            await storage.get("missing.json", max_bytes=1000)
        no_bucket = await pool.storage_for(credentials(s3_endpoint[0], bucket="nope"))
        with pytest.raises(StorageError, match="bucket does not exist"):
            await no_bucket.put(b"x", filename="result.png", content_type="image/png")
    finally:
        await pool.close()


@pytest.mark.anyio
async def test_endpoint_down_is_a_storage_error() -> None:
    pool = S3ClientPool(timeout=1, resolver=loopback_guard())
    try:
        storage = await pool.storage_for(credentials("http://127.0.0.1:9", "engine"))
        with pytest.raises(StorageError, match="could not be reached") as caught:
            await storage.get("a.json", max_bytes=1000)
        assert "minio123" not in caught.value.message
    finally:
        await pool.close()


# What obstore says when S3 refuses a request: the S3 answer's XML, quoted.
REFUSED = (
    "The operation lacked the necessary privileges to complete for path a.json: Error "
    "performing GET http://127.0.0.1:9000/engine/a.json in 3ms - Server returned non-2xx "
    'status code: 403 Forbidden: <?xml version="1.0" encoding="utf-8"?>\n<Error><Code>'
    "InvalidAccessKeyId</Code><Message>The AWS Access Key Id you provided does not exist "
    "in our records.</Message></Error>"
)


def test_describe_s3_failure_names_the_cause_and_no_credential() -> None:
    assert describe_s3_failure(PermissionDeniedError(REFUSED), "The input file a") == (
        "The input file a cannot be reached: the engine's S3 access key is not valid."
    )
    other = GenericError(REFUSED.replace("InvalidAccessKeyId", "SlowDown"))
    assert describe_s3_failure(other, "Storing the result") == (
        "Storing the result failed in the object store (SlowDown)."
    )
    down = GenericError("Generic S3 error: HTTP error: error sending request")
    assert describe_s3_failure(down, "Storing the result") == (
        "Storing the result failed: the object store could not be reached (GenericError)."
    )


@pytest.mark.anyio
async def test_tasks_arriving_together_build_one_store_off_the_loop(
    s3_endpoint: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    built_in: list[threading.Thread] = []
    real_build = s3.build_store

    def counting_build(*args: Any, **kwargs: Any) -> Any:
        built_in.append(threading.current_thread())
        return real_build(*args, **kwargs)

    monkeypatch.setattr(s3, "build_store", counting_build)
    pool = S3ClientPool(timeout=5, resolver=loopback_guard())
    try:
        storages = await asyncio.gather(
            *(pool.storage_for(credentials(*s3_endpoint)) for _ in range(16))
        )
        await pool.storage_for(credentials(s3_endpoint[0], bucket="another"))
        key = await storages[0].put(b"x", filename="result.png", content_type="image/png")
        assert await storages[-1].get(key, max_bytes=10) == b"x"
    finally:
        await pool.close()
    assert len(built_in) == 2  # one per bucket and credentials, however many asked at once
    assert threading.main_thread() not in built_in


@pytest.mark.anyio
async def test_get_refuses_an_object_over_the_limit(s3_endpoint: tuple[str, str]) -> None:
    pool = S3ClientPool(timeout=5, resolver=loopback_guard())
    try:
        storage = await pool.storage_for(credentials(*s3_endpoint))
        key = await storage.put(b"x" * 5000, filename="big.txt", content_type="text/plain")
        with pytest.raises(StorageError, match="larger than 4999 bytes"):
            await storage.get(key, max_bytes=4999)
        assert len(await storage.get(key, max_bytes=5000)) == 5000
    finally:
        await pool.close()


@pytest.mark.anyio
async def test_s3_connects_to_the_address_the_guard_checked(s3_endpoint: tuple[str, str]) -> None:
    """A name only the guard's resolver knows: the store went where the guard said."""
    endpoint, bucket = s3_endpoint
    port = endpoint.rsplit(":", 1)[1]
    lookups: list[str] = []

    async def cluster_dns(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    pool = S3ClientPool(timeout=5, resolver=loopback_guard("minio", resolver=cluster_dns))
    try:
        storage = await pool.storage_for(credentials(f"http://minio:{port}", bucket))
        key = await storage.put(b"png", filename="result.png", content_type="image/png")
        assert await storage.get(key, max_bytes=100) == b"png"
    finally:
        await pool.close()
    assert lookups == ["minio"]


@pytest.mark.anyio
async def test_s3_host_answering_a_refused_address_is_never_connected() -> None:
    async def rebinding_dns(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "127.0.0.1"]

    with ConnectionWitness() as witness:
        pool = S3ClientPool(timeout=5, resolver=loopback_guard(resolver=rebinding_dns))
        with pytest.raises(ForbiddenTargetError, match=r"non-public address \(127\.0\.0\.1\)"):
            await pool.storage_for(credentials(f"http://store.example:{witness.port}", "b"))
        await pool.close()
        assert witness.connections() == 0


@pytest.mark.anyio
async def test_s3_address_literal_not_named_is_refused_unconnected() -> None:
    with ConnectionWitness() as witness:
        pool = S3ClientPool(timeout=5, resolver=loopback_guard("minio"))
        with pytest.raises(ForbiddenTargetError, match="non-public address"):
            await pool.storage_for(credentials(witness.url, "b"))
        await pool.close()
        assert witness.connections() == 0
