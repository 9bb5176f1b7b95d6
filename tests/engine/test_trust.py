"""Which tasks the service takes: their URLs must be on the origin of an engine it serves."""

from collections.abc import Callable

import pytest

from hf_text_to_image.config import Settings
from hf_text_to_image.engine.models import ServiceTask
from hf_text_to_image.engine.trust import EngineTrust, origin_of

S3_FIELDS = {
    "s3_access_key_id": "k",
    "s3_secret_access_key": "s",
    "s3_region": "r",
    "s3_bucket": "b",
}


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("http://Engine:8080/tasks/1", "http://engine:8080"),
        ("http://engine/tasks/1", "http://engine:80"),
        ("https://engine.example/storage", "https://engine.example:443"),
        ("http://[::1]:9000", "http://[::1]:9000"),
        ("ftp://engine/x", None),
        ("not a url", None),
        ("http://[::1", None),
        ("http://user:pw@engine/x", None),
    ],
)
def test_origin_of(url: str, origin: str | None) -> None:
    assert origin_of(url) == origin


def make_task(**fields: str) -> ServiceTask:
    return ServiceTask.model_validate(
        {
            "task": {"id": "1", "data_in": ["a", "b"]},
            "callback_url": "http://engine:8080/tasks/1",
            **fields,
        }
    )


def test_default_trust_is_the_engines_it_serves(make_settings: Callable[..., Settings]) -> None:
    trust = EngineTrust.from_settings(make_settings(engine_urls=["http://engine:8080"]))

    assert trust.untrusted_fields(make_task(storage_url="http://engine:8080/storage")) == []
    assert trust.untrusted_fields(make_task(storage_url="http://engine:9999/storage")) == [
        "storage_url"
    ]
    foreign = make_task(storage_url="http://engine:8080/storage")
    foreign.callback_url = "http://elsewhere:8080/tasks/1"
    assert trust.untrusted_fields(foreign) == ["callback_url"]


def test_without_engines_nothing_is_trusted(make_settings: Callable[..., Settings]) -> None:
    trust = EngineTrust.from_settings(make_settings(engine_urls=[]))
    task = make_task(storage_url="http://engine:8080/storage")
    assert trust.untrusted_fields(task) == ["callback_url", "storage_url"]


@pytest.mark.parametrize("s3_host", ["http://minio:9000", "http://minio-service:9000/"])
def test_default_s3_trust_is_the_released_engines_minio(
    make_settings: Callable[..., Settings], s3_host: str
) -> None:
    trust = EngineTrust.from_settings(make_settings(engine_urls=["http://engine:8080"]))
    assert trust.untrusted_fields(make_task(s3_host=s3_host, **S3_FIELDS)) == []


@pytest.mark.parametrize(
    "s3_host",
    ["http://minio:9001", "http://10.0.0.5:9000", "http://redis:6379", "https://minio:9000"],
)
def test_other_s3_hosts_are_refused(make_settings: Callable[..., Settings], s3_host: str) -> None:
    trust = EngineTrust.from_settings(make_settings(engine_urls=["http://engine:8080"]))
    assert trust.untrusted_fields(make_task(s3_host=s3_host, **S3_FIELDS)) == ["s3_host"]


def test_explicit_origins_replace_the_engines(make_settings: Callable[..., Settings]) -> None:
    trust = EngineTrust.from_settings(
        make_settings(
            engine_urls=["http://engine:8080"],
            trusted_engine_origins=["https://engine.example"],
            trusted_s3_origins=["http://store:9000"],
        )
    )
    public = make_task(storage_url="https://engine.example:443/storage")
    public.callback_url = "https://engine.example/tasks/1"
    assert trust.untrusted_fields(public) == []
    assert trust.untrusted_fields(make_task(storage_url="https://engine.example/s")) == [
        "callback_url"
    ]
    assert trust.untrusted_fields(make_task(s3_host="http://minio:9000", **S3_FIELDS)) == [
        "callback_url",
        "s3_host",
    ]
    assert trust.hosts == {"engine.example", ["store", "9000"][0]}


@pytest.mark.parametrize(
    ("callback_url", "own"),
    [
        ("http://engine:8080/tasks/1", True),
        ("http://engine:8080/prefix/tasks/1", True),
        ("http://engine:8080/tasks/2", False),
        ("http://engine:8080/services/1", False),
        ("http://engine:8080/tasks/1?x=1", False),
        ("http://engine:8080/tasks/1/", False),
    ],
)
def test_callback_must_be_the_tasks_own(callback_url: str, own: bool) -> None:
    task = make_task(storage_url="http://engine:8080/storage")
    task.callback_url = callback_url
    assert EngineTrust.callback_is_the_tasks_own(task) is own
