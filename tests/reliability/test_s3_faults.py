"""S3 faults against a real moto server process that checks credentials, and a dead endpoint."""

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import httpx
import pytest
from standins.engine import EngineStandIn
from standins.fixtures import Start, service_task, wait_for_report
from standins.servers import bind_loopback, wait_for


def s3_task(engine: EngineStandIn, s3_host: str, secret: str, keys: list[str]) -> dict[str, object]:
    task = service_task(engine)
    del task["storage_url"]
    task["task"]["data_in"] = keys  # type: ignore[index]
    task.update(
        s3_access_key_id="AKIAWRONGKEY",
        s3_secret_access_key=secret,
        s3_region="us-east-1",
        s3_host=s3_host,
        s3_bucket="engine",
    )
    return task


@pytest.fixture(scope="module")
def strict_s3() -> Iterator[str]:
    """moto in its own process with authentication on: unknown keys are refused."""
    sock = bind_loopback()
    port = sock.getsockname()[1]
    sock.close()
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "0"}
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return httpx.get(f"{url}/moto-api/data.json", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(answers, timeout=30, interval=0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_wrong_s3_credentials_report_error(
    start_service: Start, engine: EngineStandIn, strict_s3: str
) -> None:
    service = start_service(trusted_s3_origins=[strict_s3])
    task = s3_task(engine, strict_s3, "WrongSecretKey", ["a.json", "b.txt"])
    httpx.post(f"{service.url}/compute", json=task)
    report = wait_for_report(engine, task["task"]["id"])  # type: ignore[index]
    assert report["status"] == "error"
    assert "S3 access key is not valid" in report["error_message"]
    assert httpx.get(f"{service.url}/status").status_code == 200


def test_s3_endpoint_down_reports_error(start_service: Start, engine: EngineStandIn) -> None:
    with bind_loopback() as down:
        dead = f"http://127.0.0.1:{down.getsockname()[1]}"
        service = start_service(engine_request_timeout=2, trusted_s3_origins=[dead])
        keys = [f"{uuid.uuid4()}.json", f"{uuid.uuid4()}.txt"]
        task = s3_task(engine, dead, "minio123", keys)
        httpx.post(f"{service.url}/compute", json=task)
        report = wait_for_report(engine, task["task"]["id"], timeout=30)  # type: ignore[index]
    assert report["status"] == "error"
    assert "object store could not be reached" in report["error_message"]
    assert "minio123" not in report["error_message"]
