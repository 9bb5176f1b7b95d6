import ipaddress
import json
import runpy
import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError

import hf_text_to_image.main
from hf_text_to_image.config import Settings

ROOT = Path(__file__).resolve().parents[1]


def env_file_keys(path: Path) -> set[str]:
    keys = set()
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keys.add(line.split("=", 1)[0].strip().lower())
    return keys


def test_env_file_documents_every_setting_and_nothing_else() -> None:
    assert env_file_keys(ROOT / ".env") == set(Settings.model_fields)


def test_every_env_file_line_has_a_comment_above_it() -> None:
    lines = (ROOT / ".env").read_text().splitlines()
    for number, line in enumerate(lines):
        if line.strip() and not line.startswith("#"):
            assert lines[number - 1].startswith("#"), f"{line} has no comment"


def test_settings_read_the_repository_env_file() -> None:
    settings = Settings(_env_file=ROOT / ".env")
    assert settings.engine_urls == []
    assert settings.outbound_allowed_schemes == ["https"]
    assert settings.hf_token is None


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENGINE_URLS", '["http://engine-a:8080/", "http://engine-b"]')
    monkeypatch.setenv("MAX_TASKS", "")  # an empty value keeps the default
    monkeypatch.setenv("HF_TOKEN", "hf_fromTheEnvironment123")
    settings = Settings(_env_file=None)
    assert settings.engine_url_strings == ["http://engine-a:8080", "http://engine-b"]
    assert settings.max_tasks == 50
    assert "hf_fromTheEnvironment123" not in repr(settings)


def test_settings_refuse_nonsense(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_CONCURRENT_TASKS", "0")
    with pytest.raises(ValidationError):
        Settings(_env_file=None)


def test_networks_are_ip_networks_checked_at_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTBOUND_ALLOWED_NETWORKS", '["10.0.0.1/8", "fd00::/8", "192.0.2.7"]')
    networks = Settings(_env_file=None).outbound_allowed_networks
    assert networks == [
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("fd00::/8"),
        ipaddress.ip_network("192.0.2.7/32"),
    ]
    monkeypatch.setenv("OUTBOUND_ALLOWED_NETWORKS", '["10.0.0.0/33"]')
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None)
    assert caught.value.errors()[0]["loc"][0] == "outbound_allowed_networks"


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("http://minio:9000", "http://minio:9000"),
        ("HTTP://Core-Engine:8080/", "http://core-engine:8080"),
        ("https://engine.example", "https://engine.example:443"),
        ("http://[::1]:8080", "http://[::1]:8080"),
    ],
)
def test_origins_are_kept_as_scheme_host_port(
    monkeypatch: pytest.MonkeyPatch, given: str, kept: str
) -> None:
    monkeypatch.setenv("TRUSTED_ENGINE_ORIGINS", json.dumps([given]))
    monkeypatch.setenv("TRUSTED_S3_ORIGINS", json.dumps([given]))
    settings = Settings(_env_file=None)
    assert settings.trusted_engine_origins == [kept]
    assert settings.trusted_s3_origins == [kept]


@pytest.mark.parametrize(
    "mistyped",
    ["minio:9000", "http//minio:9000", "http://minio:9000/storage", "ftp://minio", "http://:9000"],
)
def test_a_mistyped_origin_is_refused_not_dropped(
    monkeypatch: pytest.MonkeyPatch, mistyped: str
) -> None:
    monkeypatch.setenv("TRUSTED_ENGINE_ORIGINS", json.dumps(["http://engine:8080", mistyped]))
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None)
    assert caught.value.errors()[0]["loc"][:2] == ("trusted_engine_origins", 1)


def test_the_env_file_is_the_working_directory_s(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("MAX_TASKS=7\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MAX_TASKS", raising=False)
    assert Settings().max_tasks == 7


@pytest.mark.parametrize("start_in", ["", "src"])
def test_the_entry_point_reads_the_checkout_s_env_file_from_the_root_or_src(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, start_in: str
) -> None:
    """`uvicorn main:app --app-dir src` from the root and `cd src && uvicorn main:app`."""
    (tmp_path / "src").mkdir()
    shutil.copy(ROOT / "src" / "main.py", tmp_path / "src" / "main.py")
    (tmp_path / ".env").write_text("MAX_TASKS=7\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path / start_in)
    monkeypatch.delenv("MAX_TASKS", raising=False)
    built: list[Settings] = []
    monkeypatch.setattr(hf_text_to_image.main, "create_app", built.append)
    runpy.run_path(str(tmp_path / "src" / "main.py"))
    assert [settings.max_tasks for settings in built] == [7]


@pytest.mark.parametrize(
    ("given", "kept"),
    [("HuggingFace.co", "huggingface.co"), ("*.HF.space", "*.hf.space"), ("[::1]", "::1")],
)
def test_host_patterns_are_kept_as_urls_carry_hosts(
    monkeypatch: pytest.MonkeyPatch, given: str, kept: str
) -> None:
    monkeypatch.setenv("OUTBOUND_ALLOWED_HOSTS", json.dumps(["127.0.0.1", given]))
    assert Settings(_env_file=None).outbound_allowed_hosts == ["127.0.0.1", kept]


@pytest.mark.parametrize(
    "mistyped", ["https://fal.media", "fal.media/images", "fal.media:443", "*.", "fal media"]
)
def test_a_mistyped_host_is_refused(monkeypatch: pytest.MonkeyPatch, mistyped: str) -> None:
    monkeypatch.setenv("PROVIDER_CDN_HOSTS", json.dumps(["fal.media", mistyped]))
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None)
    assert caught.value.errors()[0]["loc"][:2] == ("provider_cdn_hosts", 1)
