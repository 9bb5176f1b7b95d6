"""S3 storage against moto's server mode: the real S3 wire protocol on loopback."""

import uuid
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from moto.server import ThreadedMotoServer
from pydantic import SecretStr

from hf_text_to_image.engine.models import S3Credentials
from hf_text_to_image.errors import StorageError
from hf_text_to_image.storage.s3 import S3ClientPool, describe_s3_failure


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[tuple[str, str]]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="k",
        aws_secret_access_key="s",
    )
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
    pool = S3ClientPool(timeout=5)
    try:
        storage = await pool.storage_for(credentials(*s3_endpoint))
        key = await storage.put(b"\x89PNG data", filename="result.png", content_type="image/png")
        assert key.endswith(".png")
        uuid.UUID(key.removesuffix(".png"))
        assert await storage.get(key, max_bytes=1000) == b"\x89PNG data"
        assert await pool.storage_for(credentials(*s3_endpoint)) is not storage
    finally:
        await pool.close()


@pytest.mark.anyio
async def test_missing_key_and_bucket_are_storage_errors(s3_endpoint: tuple[str, str]) -> None:
    pool = S3ClientPool(timeout=5)
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
    pool = S3ClientPool(timeout=1)
    try:
        storage = await pool.storage_for(credentials("http://127.0.0.1:9", "engine"))
        with pytest.raises(StorageError, match="could not be reached") as caught:
            await storage.get("a.json", max_bytes=1000)
        assert "minio123" not in caught.value.message
    finally:
        await pool.close()


def test_describe_s3_failure_names_no_credential() -> None:
    error = ClientError(
        {"Error": {"Code": "InvalidAccessKeyId", "Message": "key minio"}}, "GetObject"
    )
    assert describe_s3_failure(error, "The input file a") == (
        "The input file a cannot be reached: the engine's S3 access key is not valid."
    )
    down = EndpointConnectionError(endpoint_url="http://x")
    assert "EndpointConnectionError" in describe_s3_failure(down, "Storing the result")


@pytest.mark.anyio
async def test_get_refuses_an_object_over_the_limit(s3_endpoint: tuple[str, str]) -> None:
    pool = S3ClientPool(timeout=5)
    try:
        storage = await pool.storage_for(credentials(*s3_endpoint))
        key = await storage.put(b"x" * 5000, filename="big.txt", content_type="text/plain")
        with pytest.raises(StorageError, match="larger than 4999 bytes"):
            await storage.get(key, max_bytes=4999)
        assert len(await storage.get(key, max_bytes=5000)) == 5000
    finally:
        await pool.close()
