"""Settings at start: one sentence per wrong key and exit 2 for every way of starting."""

import logging
import subprocess
import sys
from collections.abc import Callable

import pytest
from standins.process import REPOSITORY

from hf_text_to_image.__main__ import build_parser
from hf_text_to_image.__main__ import main as cli_main
from hf_text_to_image.config import Settings
from hf_text_to_image.logs import CAPPED_LOGGERS, configure_logging
from hf_text_to_image.startup import (
    SETTINGS_EXIT_CODE,
    example,
    is_secret,
    load_settings,
    settings_summary,
)

TOKEN = "hf_StartupSummarySecret0123456789"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No setting from the process environment, and no `.env` read."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setitem(Settings.model_config, "env_file", None)
    return monkeypatch


def refusal(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], **env: str
) -> list[str]:
    """The sentences `load_settings` prints for this environment, after checking exit 2."""
    for name, value in env.items():
        clean_env.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        load_settings()
    assert stopped.value.code == SETTINGS_EXIT_CODE
    heading, *sentences = capsys.readouterr().err.strip().splitlines()
    assert heading.startswith("The service cannot start: ")
    return [line.strip() for line in sentences]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"LOG_LEVEL": "verbose"},
            "LOG_LEVEL='VERBOSE' is not one of the allowed values: expected one of CRITICAL, "
            "ERROR, WARNING, INFO, DEBUG, for example LOG_LEVEL=INFO.",
        ),
        (
            {"SERVICE_PORT": "abc"},
            "SERVICE_PORT='abc' is not a whole number: expected a whole number (at least 1, "
            "at most 65535), for example SERVICE_PORT=9090.",
        ),
        (
            {"MAX_TASKS": "0"},
            "MAX_TASKS='0' is out of range: expected a whole number (at least 1), "
            "for example MAX_TASKS=50.",
        ),
        (
            {"OUTBOUND_ALLOWED_HOSTS": "huggingface.co"},
            "OUTBOUND_ALLOWED_HOSTS is not valid JSON (Expecting value): expected a JSON list, "
            'each item text, for example OUTBOUND_ALLOWED_HOSTS=\'["huggingface.co", '
            '"*.huggingface.co", "*.endpoints.huggingface.cloud", "*.hf.space"]\'.',
        ),
        (
            {"ENGINE_URLS": '["http://engine:8080", "engine"]'},
            "ENGINE_URLS item 2 'engine' is not a URL: expected a JSON list, each item an "
            "http:// or https:// URL, for example ENGINE_URLS='[\"http://core-engine-service:8080\"]'.",
        ),
        (
            {"ALLOW_LOOPBACK_UPSTREAMS": "maybe"},
            "ALLOW_LOOPBACK_UPSTREAMS='maybe' is not true or false: expected true or false, "
            "for example ALLOW_LOOPBACK_UPSTREAMS=false.",
        ),
    ],
)
def test_wrong_setting_is_one_sentence_naming_key_problem_form_and_example(
    clean_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    expected: str,
) -> None:
    assert refusal(clean_env, capsys, **env) == [expected]


def test_every_wrong_key_gets_its_own_sentence(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sentences = refusal(
        clean_env, capsys, LOG_LEVEL="loud", MAX_TASKS="x", HF_READ_TIMEOUT="-1", SERVICE_URL="x"
    )

    assert [text.split("=")[0] for text in sentences] == [
        "SERVICE_URL",
        "LOG_LEVEL",
        "MAX_TASKS",
        "HF_READ_TIMEOUT",
    ]


def test_placeholder_token_refused_without_showing_it(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    [text] = refusal(clean_env, capsys, HF_TOKEN="hf_...")

    assert text.startswith("HF_TOKEN (not shown) is the placeholder from the examples")
    assert "hf_..." not in text


def test_log_level_in_any_case(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("LOG_LEVEL", "debug")
    clean_env.setenv("LOG_FORMAT", "JSON")

    settings = load_settings()

    assert (settings.log_level, settings.log_format) == ("DEBUG", "json")


def test_every_example_is_a_valid_value(clean_env: pytest.MonkeyPatch) -> None:
    for name, field in Settings.model_fields.items():
        if is_secret(name, field):
            continue
        clean_env.setenv(name.upper(), example(name, field).strip("'"))
    load_settings()


def test_summary_lists_every_setting_and_secrets_only_as_set(
    make_settings: Callable[..., Settings],
) -> None:
    summary = settings_summary(make_settings(hf_token=TOKEN, max_tasks=7))

    assert "HF_TOKEN=set" in summary
    assert "API_KEY_HASHES=not set" in summary
    assert "MAX_TASKS=7" in summary
    assert TOKEN not in summary
    assert summary.startswith("ENGINE_URLS=[] ")
    for name in Settings.model_fields:
        assert f" {name.upper()}=" in f" {summary}"


def test_uvicorn_main_app_exits_2_with_sentences_and_no_traceback() -> None:
    """Through uvicorn's own import of `main:app`, in a process of its own."""
    env = {"PATH": "/usr/bin:/bin", "LOG_LEVEL": "verbose", "PYTHONPATH": str(REPOSITORY / "src")}
    command = [sys.executable, "-m", "uvicorn", "main:app", "--app-dir", "src", "--port", "0"]

    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        command, cwd=REPOSITORY, env=env, capture_output=True, text=True, timeout=60, check=False
    )

    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "LOG_LEVEL='VERBOSE' is not one of the allowed values" in done.stderr


def test_python_m_exits_2_with_sentences_and_no_traceback(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m hf_text_to_image` runs `main()`: the same refusal, before serving anything."""
    clean_env.setenv("LOG_LEVEL", "verbose")

    with pytest.raises(SystemExit) as stopped:
        cli_main([])

    assert stopped.value.code == 2
    assert "LOG_LEVEL='VERBOSE' is not one of the allowed values" in capsys.readouterr().err


def test_help_names_the_options_and_their_environment(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(["--help"])

    assert stopped.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for option, env in [
        ("--host", "UVICORN_HOST"),
        ("--port", "SERVICE_PORT"),
        ("--workers", "WEB_CONCURRENCY"),
        ("--log-level", "LOG_LEVEL"),
    ]:
        assert option in text
        assert f"[env {env};" in text


def test_options_parse_in_any_case() -> None:
    arguments = build_parser().parse_args(["--port", "9191", "--log-level", "DEBUG"])

    assert (arguments.port, arguments.log_level, arguments.workers) == (9191, "debug", 1)


def test_third_party_loggers_capped_at_warning_even_at_debug() -> None:
    configure_logging("DEBUG", "text")

    for name in CAPPED_LOGGERS:
        for logger_name in (name, f"{name}.endpoint"):
            assert not logging.getLogger(logger_name).isEnabledFor(logging.INFO), logger_name
    assert logging.getLogger("hf_text_to_image.x").isEnabledFor(logging.DEBUG)


def test_network_list_described_once(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    [text] = refusal(clean_env, capsys, OUTBOUND_ALLOWED_NETWORKS='["x"]')

    assert text.startswith("OUTBOUND_ALLOWED_NETWORKS item 1 'x' ")
    assert "each item a network in CIDR form, for example" in text


def test_a_fleet_lease_no_longer_than_an_engine_call_is_refused(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fleet = {"TASK_STORE_URL": "redis://:password@redis:6379/0"}
    assert refusal(
        clean_env, capsys, **fleet, ENGINE_REQUEST_TIMEOUT="30", TASK_LEASE_SECONDS="30"
    ) == [
        "TASK_LEASE_SECONDS='30' must be longer than ENGINE_REQUEST_TIMEOUT=30 while "
        "TASK_STORE_URL is set (or a task may be reported twice): raise TASK_LEASE_SECONDS or "
        "lower ENGINE_REQUEST_TIMEOUT: expected a number (above 0), for example TASK_LEASE_SECONDS=30."
    ]
    clean_env.setenv("ENGINE_REQUEST_TIMEOUT", "29.5")
    assert Settings(_env_file=None).task_lease_seconds == 30
    clean_env.delenv("TASK_STORE_URL")
    clean_env.setenv("ENGINE_REQUEST_TIMEOUT", "60")
    assert Settings(_env_file=None).task_lease_seconds == 30, "in memory: no lease to outlast"
