from pathlib import Path

import pytest
from pydantic import ValidationError

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
