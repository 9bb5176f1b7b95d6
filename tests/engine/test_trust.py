import pytest

from hf_text_to_image.engine.models import ServiceTask
from hf_text_to_image.engine.trust import origin_of, untrusted_fields


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("http://Engine:8080/tasks/1", "http://engine:8080"),
        ("http://engine/tasks/1", "http://engine:80"),
        ("https://engine.example/storage", "https://engine.example:443"),
        ("ftp://engine/x", None),
        ("not a url", None),
        ("http://[::1", None),
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


def test_untrusted_fields_names_each_foreign_url() -> None:
    task = make_task(
        s3_access_key_id="k",
        s3_secret_access_key="s",
        s3_region="r",
        s3_host="http://minio:9000",
        s3_bucket="b",
    )
    assert untrusted_fields(task, ["http://engine:8080"]) == ["s3_host"]
    assert untrusted_fields(task, ["http://engine:8080", "http://minio:9000"]) == []


def test_untrusted_fields_checks_storage_url() -> None:
    task = make_task(storage_url="http://elsewhere/storage")
    assert untrusted_fields(task, ["http://engine:8080/"]) == ["storage_url"]
