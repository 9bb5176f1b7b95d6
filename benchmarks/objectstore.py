"""The engine's bucket for the `s3_*` form: moto's S3 server, spoken to with boto3 (SigV4)."""

import asyncio
from dataclasses import dataclass
from typing import Any

import boto3

from .driver import StorageForm
from .processes import ChildProcess
from .standins import DESCRIPTION, PNG_SIGNATURE, PROMPT

BUCKET = "engine"
REGION = "eu-central-2"
ACCESS_KEY = "benchmark-key"
SECRET_KEY = "benchmark-secret"  # noqa: S105 - made up, loopback only
INPUT_KEYS = ("inputs/json_description.json", "inputs/input_text.txt")
CHECKED_RESULTS = 16


@dataclass
class ObjectStore:
    process: ChildProcess
    url: str

    def __post_init__(self) -> None:
        self._client: Any = boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    @property
    def form(self) -> StorageForm:
        """Tasks in the released engine's form; every task reads the same two input objects."""
        fields = {
            "s3_access_key_id": ACCESS_KEY,
            "s3_secret_access_key": SECRET_KEY,
            "s3_region": REGION,
            "s3_host": self.url,
            "s3_bucket": BUCKET,
        }
        return StorageForm("s3", fields, INPUT_KEYS)

    async def prepare(self) -> None:
        """The bucket and the two inputs, as the engine would have put them."""
        await asyncio.to_thread(self._prepare)

    def _prepare(self) -> None:
        self._client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        for key, body in zip(INPUT_KEYS, (DESCRIPTION, PROMPT), strict=True):
            self._client.put_object(Bucket=BUCKET, Key=key, Body=body)

    async def check_results(self, keys: list[str]) -> None:
        """Every task reported a key; the first few of them hold a PNG in the bucket."""
        await asyncio.to_thread(self._check_results, keys)

    def _check_results(self, keys: list[str]) -> None:
        for key in keys[:CHECKED_RESULTS]:
            body = self._client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
            if not body.startswith(PNG_SIGNATURE):
                raise RuntimeError(f"the bucket holds no PNG under {key}")
