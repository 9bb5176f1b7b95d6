"""Bad input, each a clear error and no crash; and nothing reaches where it should not."""

import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from standins.asgi import serve
from standins.engine import EngineStandIn
from standins.fixtures import Start, service_task, wait_for_report
from standins.servers import ConnectionWitness

from hf_text_to_image.config import Settings
from hf_text_to_image.main import create_app

TOKEN = "hf_BadInputSecretToken0123456789"
GOOD = {"api_token": TOKEN, "model": "org/model"}


class Recorder:
    """Stands where the network would be: any request or DNS look-up reaching it is recorded."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.lookups: list[str] = []

    def transport(self) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            return httpx.Response(599)

        return httpx.MockTransport(handle)

    async def resolve(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        return ["10.0.0.5"] if host.startswith("internal") else ["93.184.216.34"]


def desc(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


# (case, json_description bytes, input_text bytes, phrase of the 400 answer)
BAD_INPUTS: list[tuple[str, bytes, bytes, str]] = [
    ("invalid JSON", b'{"api_token": ', b"a fox", "not valid JSON"),
    ("JSON that is not an object", b'["hf_x"]', b"a fox", "must be a JSON object"),
    ("missing keys", b"{}", b"a fox", "give api_url"),
    ("wrongly typed key", desc(**GOOD, parameters={"width": "512"}), b"a fox", "parameters.width"),
    ("empty token", desc(api_token=" ", model="org/model"), b"a fox", "api_token is empty"),
    ("unknown field", desc(**GOOD, colour="red"), b"a fox", "colour"),
    ("api_url not a URL", desc(api_token=TOKEN, api_url="not a url"), b"a fox", "api_url"),
    (
        "api_url not https",
        desc(api_token=TOKEN, api_url="http://huggingface.co/x"),
        b"a fox",
        "the allowed schemes are https://",
    ),
    (
        "api_url file://",
        desc(api_token=TOKEN, api_url="file:///etc/passwd"),
        b"a fox",
        "api_url is a file:// URL; the allowed schemes are https://",
    ),
    (
        "api_url 127.0.0.1",
        desc(api_token=TOKEN, api_url="https://127.0.0.1/x"),
        b"a fox",
        "not an allowed host",
    ),
    (
        "api_url metadata address",
        desc(api_token=TOKEN, api_url="https://169.254.169.254/latest"),
        b"a fox",
        "not an allowed host",
    ),
    (
        "api_url 10.0.0.1",
        desc(api_token=TOKEN, api_url="https://10.0.0.1/"),
        b"a fox",
        "not an allowed host",
    ),
    (
        "api_url [::1]",
        desc(api_token=TOKEN, api_url="https://[::1]/x"),
        b"a fox",
        "not an allowed host",
    ),
    (
        "api_url host off the allow-list",
        desc(api_token=TOKEN, api_url="https://evil.example/x"),
        b"a fox",
        "not an allowed host",
    ),
    (
        "api_url name resolving to a private address",
        desc(api_token=TOKEN, api_url="https://internal.hf.space/x"),
        b"a fox",
        "resolves to a non-public address",
    ),
    ("huge json_description", desc(**GOOD, parameters={"x": "y" * 70_000}), b"a fox", "limit"),
    ("huge input_text", desc(**GOOD), b"a" * 9_000, "limit"),
    ("non-UTF-8 prompt", desc(**GOOD), "café".encode("latin-1"), "not UTF-8"),
    ("empty prompt", desc(**GOOD), b"  \n\t ", "input_text is empty"),
    ("NUL bytes in the prompt", desc(**GOOD), b"a\x00fox", "NUL"),
]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.mark.parametrize(
    ("raw_description", "raw_prompt", "phrase"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
@pytest.mark.anyio
async def test_bad_input_is_400_and_nothing_leaves_the_machine(
    make_settings: Callable[..., Settings],
    recorder: Recorder,
    raw_description: bytes,
    raw_prompt: bytes,
    phrase: str,
) -> None:
    app = create_app(make_settings(), transport=recorder.transport(), resolver=recorder.resolve)
    files = {
        "json_description": ("d.json", raw_description, "application/json"),
        "input_text": ("p.txt", raw_prompt, "text/plain"),
    }
    async with serve(app) as client:
        answer = await client.post("/process", files=files)
        assert answer.status_code == 400
        assert phrase in answer.json()["detail"]
        assert TOKEN not in answer.text
        assert (await client.get("/status")).status_code == 200
    assert recorder.requests == [], "a request left before the input was refused"
    assert set(recorder.lookups) <= {"internal.hf.space"}


@pytest.mark.anyio
async def test_an_allowed_url_is_the_only_thing_reaching_the_network(
    make_settings: Callable[..., Settings], recorder: Recorder
) -> None:
    """The control case: the same set-up does send a request when the URL is allowed."""
    app = create_app(make_settings(), transport=recorder.transport(), resolver=recorder.resolve)
    files = {
        "json_description": ("d", desc(**GOOD), "application/json"),
        "input_text": ("p", b"a fox", "text/plain"),
    }
    async with serve(app) as client:
        assert (await client.post("/process", files=files)).status_code == 502
    assert {request.url.host for request in recorder.requests} == {"router.huggingface.co"}


@pytest.mark.parametrize(
    "change",
    [
        lambda task: task.pop("storage_url"),
        lambda task: task.update(s3_access_key_id="k", s3_secret_access_key="VerySecretS3Key"),
        lambda task: task.update(s3_bucket="engine"),
        lambda task: task["task"].pop("data_in"),
        lambda task: task.pop("callback_url"),
    ],
    ids=[
        "neither storage form",
        "both storage forms",
        "half an s3 form",
        "no data_in",
        "no callback_url",
    ],
)
def test_malformed_service_task_is_422_without_values(
    start_service: Start, engine: EngineStandIn, change: Callable[[dict[str, Any]], None]
) -> None:
    service = start_service()
    task = service_task(engine)
    change(task)
    answer = httpx.post(f"{service.url}/compute", json=task)
    assert answer.status_code == 422
    assert "VerySecretS3Key" not in answer.text
    assert all("input" not in detail for detail in answer.json()["detail"])
    assert engine.reports_for(task["task"]["id"]) == []


def test_too_many_inputs_report_error(start_service: Start, engine: EngineStandIn) -> None:
    service = start_service()
    task = service_task(engine)
    task["task"]["data_in"].append("third.bin")
    httpx.post(f"{service.url}/compute", json=task)
    report = wait_for_report(engine, task["task"]["id"])
    assert report["status"] == "error"
    assert "3 input file(s)" in report["error_message"]


S3_FORM = {
    "s3_access_key_id": "minio",
    "s3_secret_access_key": "VerySecretS3Key",
    "s3_region": "eu-central-2",
    "s3_bucket": "engine",
}


def test_by_default_only_the_engines_served_hand_out_tasks(
    start_service: Start, engine: EngineStandIn
) -> None:
    """No trust list: callback, storage and S3 URLs off ENGINE_URLS are 403, nothing contacted."""
    service = start_service()  # ENGINE_URLS is the engine stand-in; no TRUSTED_* setting
    with ConnectionWitness() as elsewhere:
        foreign_callback = service_task(engine)
        foreign_callback["callback_url"] = f"{elsewhere.url}/tasks/{uuid.uuid4()}"
        foreign_storage = service_task(engine)
        foreign_storage["storage_url"] = f"{elsewhere.url}/storage"
        other_task = service_task(engine)  # the engine's own origin, another task's callback
        other_task["callback_url"] = f"{engine.public_url}/tasks/{uuid.uuid4()}"
        foreign_s3 = service_task(engine)
        del foreign_s3["storage_url"]
        foreign_s3.update(S3_FORM, s3_host=elsewhere.url)
        answers = {
            field: httpx.post(f"{service.url}/compute", json=task)
            for field, task in [
                ("callback_url", foreign_callback),
                ("storage_url", foreign_storage),
                ("s3_host", foreign_s3),
            ]
        }
        other_answer = httpx.post(f"{service.url}/compute", json=other_task)
        trusted = service_task(engine)
        assert httpx.post(f"{service.url}/compute", json=trusted).status_code == 200
        assert wait_for_report(engine, trusted["task"]["id"])["status"] == "finished"
        assert elsewhere.connections() == 0
    for field, answer in answers.items():
        assert answer.status_code == 403, field
        assert field in answer.json()["detail"]
        assert "VerySecretS3Key" not in answer.text
    assert other_answer.status_code == 403
    assert "/tasks/{id} of this very task" in other_answer.json()["detail"]
    for task in (foreign_callback, foreign_storage, foreign_s3, other_task):
        assert engine.reports_for(task["task"]["id"]) == []


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("callback_url", "http://[::1"),
        ("callback_url", "not a URL VerySecretS3Key"),
        ("callback_url", "javascript:VerySecretS3Key"),
        ("callback_url", "http://minio:VerySecretS3Key@engine/tasks/1"),
        ("callback_url", "http://engine/tasks/1\r\nX-VerySecretS3Key: 1"),
        ("callback_url", "http://engine/" + "VerySecretS3Key" * 200),
        ("storage_url", "file:///VerySecretS3Key"),
        ("s3_host", "http://minio:9000/VerySecretS3Key"),
        ("s3_host", "http://[::1"),
    ],
)
async def test_malformed_task_url_is_422_naming_the_field_without_its_value(
    make_settings: Callable[..., Settings], field: str, value: str
) -> None:
    task: dict[str, Any] = {
        "task": {"id": "1", "data_in": ["a", "b"]},
        "callback_url": "http://engine/tasks/1",
        "storage_url": "http://engine/storage",
    }
    if field == "s3_host":
        del task["storage_url"]
        task.update(S3_FORM)
    task[field] = value
    recorder = Recorder()
    app = create_app(make_settings(), transport=recorder.transport(), resolver=recorder.resolve)
    async with serve(app) as client:
        answer = await client.post("/compute", json=task)

    assert answer.status_code == 422
    [detail] = answer.json()["detail"]
    assert detail["loc"] == ["body", field]
    assert "VerySecretS3Key" not in answer.text
    assert value not in answer.text
    assert recorder.requests == []
    assert recorder.lookups == []


@pytest.mark.anyio
async def test_dns_rebinding_is_refused_where_the_connection_is_made(
    make_settings: Callable[..., Settings],
) -> None:
    """The name answers a public address to the early check, then loopback: nothing connects."""
    answers = [["93.184.216.34"], ["127.0.0.1"]]
    lookups: list[str] = []

    async def rebinding_dns(host: str, port: int) -> list[str]:
        lookups.append(host)
        return answers[min(len(lookups), len(answers)) - 1]

    with ConnectionWitness() as witness:
        api_url = f"https://rebind.hf.space:{witness.port}/generate"
        app = create_app(make_settings(), resolver=rebinding_dns)
        files = {
            "json_description": ("d", desc(api_token=TOKEN, api_url=api_url), "application/json"),
            "input_text": ("p", b"a fox", "text/plain"),
        }
        async with serve(app) as client:
            answer = await client.post("/process", files=files)
        assert witness.connections() == 0
    assert answer.status_code == 400
    assert "non-public address (127.0.0.1)" in answer.json()["detail"]
    assert lookups == ["rebind.hf.space", "rebind.hf.space"]
