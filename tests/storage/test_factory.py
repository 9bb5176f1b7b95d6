"""The storage factory: each task's form picks its storage, the same calls serve both."""

import uuid
from typing import Any

import httpx
import pytest
import respx

from hf_text_to_image.engine.models import ServiceTask
from hf_text_to_image.storage.factory import StorageFactory
from hf_text_to_image.storage.s3 import S3ClientPool

from .test_s3 import boto3_client, loopback_guard, s3_endpoint  # noqa: F401 - the module's moto server

TASK = {"id": "t1", "data_in": ["a.json", "b.txt"]}
CALLBACK = "http://engine.test/tasks/t1"


def service_task(**form: Any) -> ServiceTask:
    return ServiceTask.model_validate({"task": TASK, "callback_url": CALLBACK, **form})


@pytest.mark.anyio
@respx.mock(assert_all_called=True)
async def test_the_storage_url_form_reads_from_the_engine(respx_mock: respx.MockRouter) -> None:
    respx_mock.get("http://engine.test/storage/a.json").respond(200, content=b"{}")
    pool = S3ClientPool(timeout=5, resolver=loopback_guard())
    async with httpx.AsyncClient() as http:
        factory = StorageFactory(http, pool, timeout=5)
        storage = await factory.for_task(service_task(storage_url="http://engine.test/storage"))
        assert await storage.get("a.json", max_bytes=10) == b"{}"
    await pool.close()


@pytest.mark.anyio
async def test_the_s3_form_reads_from_the_bucket(s3_endpoint: tuple[str, str]) -> None:  # noqa: F811
    endpoint, bucket = s3_endpoint
    key = f"{uuid.uuid4()}.json"
    boto3_client(endpoint).put_object(Bucket=bucket, Key=key, Body=b'{"x": 1}')
    pool = S3ClientPool(timeout=5, resolver=loopback_guard())
    async with httpx.AsyncClient() as http:
        storage = await StorageFactory(http, pool, timeout=5).for_task(
            service_task(
                s3_access_key_id="minio",
                s3_secret_access_key="minio123",
                s3_region="us-east-1",
                s3_host=endpoint,
                s3_bucket=bucket,
            )
        )
        assert await storage.get(key, max_bytes=100) == b'{"x": 1}'
    await pool.close()
