"""Hugging Face side faults, from a real stand-in over sockets, through the engine path.

After each fault the service must still answer /status and complete a normal task.
"""

import json
from typing import Any

import httpx
import pytest
from standins.engine import EngineStandIn
from standins.fixtures import Start, service_task, wait_for_report
from standins.hf_api import Answer, HuggingFaceStandIn, render_image
from standins.servers import UvicornThread

LOADING = {"error": "Model stabilityai/sd3-medium is currently loading", "estimated_time": 20.0}
HTML = b"<!DOCTYPE html><html><body>Service temporarily unavailable</body></html>"

# (fault, settings, answers from the stand-in, final status, a phrase of the task's message)
FAULTS: list[tuple[str, dict[str, Any], list[Answer], str, str]] = [
    (
        "hangs past the read timeout",
        {"hf_read_timeout": 0.3},
        [Answer(hang=True)],
        "error",
        "did not answer within 0.3 seconds",
    ),
    (
        "closes the connection mid-body",
        {},
        [Answer(cut_after=40)] * 4,
        "error",
        "connection to 127.0.0.1 failed",
    ),
    ("closes mid-body once, then answers", {}, [Answer(cut_after=40)], "finished", ""),
    (
        "answers HTML with 200",
        {},
        [Answer(body=HTML, headers={"content-type": "text/html"})],
        "error",
        "HTML page instead of an image",
    ),
    (
        "answers a truncated PNG",
        {},
        [Answer(body=render_image("PNG", (128, 128))[:300])],
        "error",
        "truncated PNG",
    ),
    (
        "answers a body over the size cap",
        {"max_response_bytes": 4096},
        [Answer(body=render_image("BMP", (128, 128)), headers={"content-type": "image/bmp"})],
        "error",
        "larger than the limit of 4096 bytes",
    ),
    (
        "answers 503 loading forever",
        {"hf_max_attempts": 3},
        [Answer(503, json_body=LOADING)] * 3,
        "error",
        "still loading",
    ),
    (
        "answers 429 with Retry-After",
        {},
        [Answer(429, json_body={"error": "slow down"}, headers={"retry-after": "0"})],
        "finished",
        "",
    ),
    (
        "answers 429 without Retry-After",
        {},
        [Answer(429, json_body={"error": "slow down"})],
        "finished",
        "",
    ),
    (
        "answers 500 then 200",
        {},
        [Answer(500, json_body={"error": "Model too busy"})],
        "finished",
        "",
    ),
]


@pytest.mark.parametrize(
    ("settings", "answers", "status", "phrase"),
    [fault[1:] for fault in FAULTS],
    ids=[fault[0] for fault in FAULTS],
)
def test_upstream_fault_ends_in_one_clear_report_and_service_recovers(
    start_service: Start,
    engine: EngineStandIn,
    hf: HuggingFaceStandIn,
    settings: dict[str, Any],
    answers: list[Answer],
    status: str,
    phrase: str,
) -> None:
    service = start_service(**settings)
    hf.answer_with(*answers)
    task = service_task(engine)
    assert httpx.post(f"{service.url}/compute", json=task).status_code == 200

    report = wait_for_report(engine, task["task"]["id"])
    assert report["status"] == status, report
    assert phrase in (report["error_message"] or "")
    assert report["data_out"] == ([] if status == "error" else report["data_out"])

    assert httpx.get(f"{service.url}/status").status_code == 200
    hf.script.clear()
    normal = service_task(engine)
    httpx.post(f"{service.url}/compute", json=normal)
    assert wait_for_report(engine, normal["task"]["id"])["status"] == "finished"
    assert len(engine.reports_for(task["task"]["id"])) == 1


def test_loading_model_is_retried_with_wait_for_model(
    start_service: Start, engine: EngineStandIn, hf: HuggingFaceStandIn
) -> None:
    service = start_service()
    hf.answer_with(Answer(503, json_body=LOADING), Answer(503, json_body=LOADING))
    task = service_task(engine)
    httpx.post(f"{service.url}/compute", json=task)
    assert wait_for_report(engine, task["task"]["id"])["status"] == "finished"
    assert [r.headers.get("x-wait-for-model") for r in hf.requests] == [None, "true", "true"]
    assert all(json.loads(r.body)["inputs"] for r in hf.requests)


def test_upstream_redirect_to_another_host_is_not_followed(
    start_service: Start, engine: EngineStandIn, hf: HuggingFaceStandIn
) -> None:
    elsewhere = HuggingFaceStandIn()
    with UvicornThread(elsewhere.app) as other:
        service = start_service()
        hf.answer_with(Answer(307, json_body={}, headers={"location": f"{other.url}/models/x"}))
        task = service_task(engine)
        httpx.post(f"{service.url}/compute", json=task)
        report = wait_for_report(engine, task["task"]["id"])
    assert report["status"] == "error"
    assert "redirect to 127.0.0.1" in report["error_message"]
    assert elsewhere.requests == []
