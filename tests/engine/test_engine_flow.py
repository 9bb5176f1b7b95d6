"""The service with a real engine stand-in, real API stand-in and real sockets, end to end."""

import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer
from standins.engine import EngineStandIn
from standins.fixtures import (
    PROMPT,
    TOKEN,
    Start,
    decode_png,
    description,
    service_task,
    submit_to_engine,
    wait_for_report,
)
from standins.hf_api import Answer, HuggingFaceStandIn
from standins.servers import UvicornThread, bind_loopback, wait_for

from hf_text_to_image.config import Settings
from hf_text_to_image.main import create_app
from hf_text_to_image.service import SLUG


def test_service_registers_after_it_serves(start_service: Start, engine: EngineStandIn) -> None:
    service = start_service()
    wait_for(lambda: SLUG in engine.services)
    registered = engine.services[SLUG]
    assert registered["url"] == service.url
    assert [field["name"] for field in registered["data_in_fields"]] == [
        "json_description",
        "input_text",
    ]
    assert registered["data_out_fields"] == [
        {"name": "result", "type": ["image/png"], "format_hint": None}
    ]
    wait_for(lambda: len(engine.pings) >= 2)


def test_engine_task_finishes_with_stored_png(
    start_service: Start,
    engine: EngineStandIn,
    hf: HuggingFaceStandIn,
    caplog: pytest.LogCaptureFixture,
) -> None:
    start_service()
    wait_for(lambda: SLUG in engine.services)
    hf.default = Answer(image_format="JPEG")
    task = submit_to_engine(engine)

    report = wait_for_report(engine, task["id"])
    assert report["status"] == "finished"
    assert report["error_message"] is None
    [key] = report["data_out"]
    assert key.endswith(".png")
    stored = httpx.get(f"{engine.public_url}/storage/{key}").content
    assert decode_png(stored).size == (64, 64)
    sent = json.loads(hf.requests[-1].body)
    seed = sent["parameters"]["seed"]
    assert sent == {"inputs": PROMPT, "parameters": {"seed": seed}}
    assert 0 <= seed <= 2**31 - 1
    # The stored PNG says how it was made: the prompt, the seed, the model.
    info = decode_png(stored).info
    assert (
        info["parameters"] == f"{PROMPT}\nSeed: {seed}, Size: 64x64, Model: stabilityai/sd3-medium"
    )
    assert json.loads(info["hf-text-to-image"])["seed"] == seed
    assert f"made by hf-inference with seed {seed}" in caplog.text
    assert hf.requests[-1].headers["authorization"] == f"Bearer {TOKEN}"


def test_engine_task_without_api_token_uses_the_operator_token(
    start_service: Start, engine: EngineStandIn, hf: HuggingFaceStandIn
) -> None:
    operator_token = "hf_OPERATORtoken0987654321"
    start_service(hf_token=operator_token)  # no API key: engine tasks need none
    wait_for(lambda: SLUG in engine.services)
    files = {
        "json_description": ("d.json", b'{"model": "stabilityai/sd3-medium"}', "application/json"),
        "input_text": ("prompt", PROMPT.encode(), "text/plain"),
    }
    task = httpx.post(f"{engine.public_url}/{SLUG}", files=files, timeout=10).json()

    assert wait_for_report(engine, task["id"])["status"] == "finished"
    assert hf.requests[-1].headers["authorization"] == f"Bearer {operator_token}"


def test_s3_task_finishes_with_png_in_bucket(start_service: Start, engine: EngineStandIn) -> None:
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    try:
        host, port = moto.get_host_and_port()
        s3_host = f"http://{host}:{port}"
        s3 = boto3.client(
            "s3",
            endpoint_url=s3_host,
            region_name="eu-central-2",
            aws_access_key_id="minio",
            aws_secret_access_key="minio123",
        )
        bucket = f"engine-{uuid.uuid4()}"  # moto's state is shared by the whole process
        s3.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-central-2"}
        )
        keys = [f"{uuid.uuid4()}.json", f"{uuid.uuid4()}.txt"]
        s3.put_object(Bucket=bucket, Key=keys[0], Body=description())
        s3.put_object(Bucket=bucket, Key=keys[1], Body=PROMPT.encode())
        service = start_service(trusted_s3_origins=[s3_host])
        task_id = str(uuid.uuid4())
        body = {
            "s3_access_key_id": "minio",
            "s3_secret_access_key": "minio123",
            "s3_region": "eu-central-2",
            "s3_host": s3_host,
            "s3_bucket": bucket,
            "task": {
                "id": task_id,
                "data_in": keys,
                "data_out": None,
                "status": "pending",
                "service_id": "s",
                "pipeline_execution_id": None,
                "error_message": None,
            },
            "callback_url": f"{engine.public_url}/tasks/{task_id}",
        }
        assert httpx.post(f"{service.url}/compute", json=body).status_code == 200

        report = wait_for_report(engine, task_id)
        assert report["status"] == "finished", report
        [key] = report["data_out"]
        stored = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert decode_png(stored).size == (64, 64)
    finally:
        moto.stop()


def test_tasks_overlap_up_to_max_concurrent_tasks(
    start_service: Start, engine: EngineStandIn, hf: HuggingFaceStandIn
) -> None:
    service = start_service(max_concurrent_tasks=3)
    hf.gate.clear()  # the model holds every request until all nine tasks are queued
    tasks = [service_task(engine) for _ in range(9)]
    for task in tasks:
        assert httpx.post(f"{service.url}/compute", json=task).status_code == 200
    wait_for(lambda: hf.in_flight >= 3)
    hf.gate.set()
    for task in tasks:
        assert wait_for_report(engine, task["task"]["id"])["status"] == "finished"
    assert hf.peak_in_flight == 3


def test_compute_answers_503_when_max_tasks_reached(
    start_service: Start, engine: EngineStandIn, hf: HuggingFaceStandIn
) -> None:
    service = start_service(max_tasks=2, max_concurrent_tasks=1)
    hf.gate.clear()
    accepted = [service_task(engine) for _ in range(2)]
    for task in accepted:
        assert httpx.post(f"{service.url}/compute", json=task).status_code == 200
    refused = httpx.post(f"{service.url}/compute", json=service_task(engine))
    assert refused.status_code == 503
    assert "2 tasks" in refused.json()["detail"]
    hf.gate.set()
    for task in accepted:
        assert wait_for_report(engine, task["task"]["id"])["status"] == "finished"
    assert httpx.post(f"{service.url}/compute", json=service_task(engine)).status_code == 200


def test_same_task_id_is_processed_once(
    start_service: Start, engine: EngineStandIn, hf: HuggingFaceStandIn
) -> None:
    service = start_service()
    hf.gate.clear()
    task = service_task(engine)
    for _ in range(3):
        assert httpx.post(f"{service.url}/compute", json=task).status_code == 200
    wait_for(lambda: len(hf.requests) == 1)
    hf.gate.set()
    wait_for_report(engine, task["task"]["id"])
    assert len(hf.requests) == 1
    assert len(engine.reports_for(task["task"]["id"])) == 1


def test_task_status_follows_the_task(
    start_service: Start, engine: EngineStandIn, hf: HuggingFaceStandIn
) -> None:
    service = start_service()
    hf.gate.clear()
    task = service_task(engine)
    task_id = task["task"]["id"]
    httpx.post(f"{service.url}/compute", json=task)
    status_url = f"{service.url}/tasks/{task_id}/status"
    wait_for(lambda: httpx.get(status_url).json() == {"status": "processing"})
    hf.gate.set()
    wait_for_report(engine, task_id)
    assert httpx.get(status_url).json() == {"status": "finished"}
    assert httpx.get(f"{service.url}/tasks/unknown/status").status_code == 404


def test_callback_failing_twice_is_delivered_once(
    start_service: Start, engine: EngineStandIn
) -> None:
    service = start_service()
    engine.callback_failures = 2
    task = service_task(engine)
    httpx.post(f"{service.url}/compute", json=task)
    report = wait_for_report(engine, task["task"]["id"])
    assert report["status"] == "finished"
    assert engine.callback_failures == 0
    assert len(engine.reports_for(task["task"]["id"])) == 1


def test_engine_restart_leads_to_new_announce(start_service: Start, engine: EngineStandIn) -> None:
    start_service()
    wait_for(lambda: SLUG in engine.services)
    first_id = engine.services[SLUG]["id"]
    engine.forget(SLUG)
    wait_for(lambda: SLUG in engine.services)
    assert engine.services[SLUG]["id"] != first_id
    assert len(engine.announces) == 2


def test_announce_on_known_slug_patches_description(
    start_service: Start, engine: EngineStandIn
) -> None:
    engine.services[SLUG] = {"id": "existing-id", "slug": SLUG, "url": "http://old"}
    service = start_service()
    wait_for(lambda: engine.services[SLUG].get("url") == service.url)
    assert engine.services[SLUG]["id"] == "existing-id"


def test_api_failure_reports_error_with_empty_data_out(
    start_service: Start, engine: EngineStandIn, hf: HuggingFaceStandIn
) -> None:
    service = start_service()
    hf.answer_with(Answer(401, json_body={"error": "Invalid credentials in Authorization header"}))
    task = service_task(engine)
    httpx.post(f"{service.url}/compute", json=task)
    report = wait_for_report(engine, task["task"]["id"])
    assert report["status"] == "error"
    assert report["data_out"] == []
    assert "access token" in report["error_message"]
    assert "Invalid credentials" in report["error_message"]
    assert TOKEN not in report["error_message"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda task: task["task"].update(data_in=task["task"]["data_in"][:1]), "exactly 2"),
        (lambda task: task["task"].update(data_in=["missing.json", "missing.txt"]), "404"),
    ],
)
def test_bad_task_inputs_report_error(
    start_service: Start,
    engine: EngineStandIn,
    change: Callable[[dict[str, Any]], None],
    expected: str,
) -> None:
    service = start_service()
    task = service_task(engine)
    change(task)
    httpx.post(f"{service.url}/compute", json=task)
    report = wait_for_report(engine, task["task"]["id"])
    assert report["status"] == "error"
    assert expected in report["error_message"]


def test_upload_refused_reports_error(start_service: Start, engine: EngineStandIn) -> None:
    service = start_service()
    engine.refuse_uploads = True
    task = service_task(engine)
    httpx.post(f"{service.url}/compute", json=task)
    report = wait_for_report(engine, task["task"]["id"])
    assert report == {
        "status": "error",
        "data_out": [],
        "error_message": "The engine's storage refused the result (500).",
    }


def test_malformed_task_is_422_without_echoing_secrets(
    start_service: Start, engine: EngineStandIn
) -> None:
    service = start_service()
    body = service_task(engine)
    body.update(s3_access_key_id="minio", s3_secret_access_key="VerySecretS3Key")
    answer = httpx.post(f"{service.url}/compute", json=body)
    assert answer.status_code == 422
    assert "VerySecretS3Key" not in answer.text
    assert httpx.post(f"{service.url}/compute", json={"task": {}}).status_code == 422


def test_shutdown_reports_every_task_and_sleeps(
    start_service: Start, engine: EngineStandIn, hf: HuggingFaceStandIn
) -> None:
    service = start_service(max_concurrent_tasks=1, shutdown_grace_seconds=0.2)
    wait_for(lambda: SLUG in engine.services)
    hf.gate.clear()
    tasks = [service_task(engine) for _ in range(3)]
    for task in tasks:
        assert httpx.post(f"{service.url}/compute", json=task).status_code == 200
    wait_for(lambda: len(hf.requests) == 1)
    service.stop()
    for task in tasks:
        reports = engine.reports_for(task["task"]["id"])
        assert len(reports) == 1
        assert reports[0]["status"] == "error"
        assert "shutting down" in reports[0]["error_message"]
    assert engine.services[SLUG]["status"] == "sleeping"


def test_service_serves_without_engine(
    make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    sock = bind_loopback()
    settings = make_settings(
        engine_urls=["http://127.0.0.1:9"],
        service_url=f"http://127.0.0.1:{sock.getsockname()[1]}",
        engine_announce_retries=2,
    )
    caplog.set_level(logging.WARNING)
    with UvicornThread(create_app(settings), sock) as service:
        assert httpx.get(f"{service.url}/status").status_code == 200
        assert httpx.get(f"{service.url}/docs").status_code == 200
        wait_for(lambda: "could not announce" in caplog.text)


def test_metrics_count_tasks_phases_and_upstream_calls(
    start_service: Start, engine: EngineStandIn, hf: HuggingFaceStandIn
) -> None:
    service = start_service(max_tasks=1)
    hf.gate.clear()
    task = service_task(engine)
    httpx.post(f"{service.url}/compute", json=task)
    assert httpx.post(f"{service.url}/compute", json=service_task(engine)).status_code == 503
    wait_for(lambda: "tasks_in_flight 1.0" in httpx.get(f"{service.url}/metrics").text)
    hf.gate.set()
    wait_for_report(engine, task["task"]["id"])
    text = wait_for(
        lambda: (
            (page := httpx.get(f"{service.url}/metrics").text) and 'phase="report"' in page and page
        )
    )
    for line in (
        "tasks_accepted_total 1.0",
        'tasks_rejected_total{reason="full"} 1.0',
        'tasks_finished_total{status="finished"} 1.0',
        'upstream_requests_total{provider="hf-inference",status_code="200"} 1.0',
        'task_phase_seconds_count{phase="fetch"} 1.0',
        'task_phase_seconds_count{phase="generate"} 1.0',
        'task_phase_seconds_count{phase="store"} 1.0',
        'upstream_request_seconds_count{provider="hf-inference"} 1.0',
        'image_conversion_seconds_count{source_format="png"} 1.0',
        "process_cpu_seconds_total",
        "tasks_queued 0.0",
        "tasks_in_flight 0.0",
    ):
        assert line in text
    # Engine tasks are counted as tasks, never as direct calls.
    assert "direct_requests_total{" not in text
    assert TOKEN not in text
