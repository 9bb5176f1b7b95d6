"""Reading the settings at start: a sentence per wrong key (exit 2), a summary of the right ones."""

import ipaddress
import json
import re
import sys
import types
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import AnyUrl, SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from pydantic_settings import SettingsError

from .config import Settings
from .redaction import redact

# Exit status of a start refused for its settings (as for a command-line usage error).
SETTINGS_EXIT_CODE = 2

# Examples for the settings whose default is empty (or a secret).
EXAMPLES: dict[str, str] = {
    "engine_urls": '["http://core-engine-service:8080"]',
    "hf_token": "<your token from https://huggingface.co/settings/tokens>",
    "api_key_hashes": '["<SHA-256 digest of the key, 64 hex digits>"]',
    "outbound_allowed_networks": '["10.0.0.0/8"]',
    "trusted_engine_origins": '["http://core-engine-service:8080", "http://minio:9000"]',
}
# Shown only as "set" or "not set".
SECRET_NAME = re.compile(r"token|secret|password|key", re.IGNORECASE)
PROBLEMS: dict[str, str] = {
    "int_parsing": "is not a whole number",
    "int_from_float": "is not a whole number",
    "float_parsing": "is not a number",
    "bool_parsing": "is not true or false",
    "literal_error": "is not one of the allowed values",
    "string_pattern_mismatch": "is not in the expected form",
    "list_type": "is not a JSON list",
    "json_invalid": "is not valid JSON",
    "greater_than_equal": "is out of range",
    "greater_than": "is out of range",
    "less_than_equal": "is out of range",
    "less_than": "is out of range",
    "url_parsing": "is not a URL",
    "url_scheme": "is not an http:// or https:// URL",
    "missing": "is missing",
}


def env_name(field: str) -> str:
    return field.upper()


def is_secret(name: str, field: FieldInfo) -> bool:
    return SECRET_NAME.search(name) is not None or _contains(field.annotation, SecretStr)


def _contains(annotation: Any, kind: type) -> bool:
    if annotation is kind:
        return True
    return any(_contains(arg, kind) for arg in get_args(annotation))


def _bounds(metadata: Iterable[object]) -> str:
    words = []
    for item in metadata:
        for attribute, word in (
            ("ge", "at least"),
            ("gt", "above"),
            ("le", "at most"),
            ("lt", "below"),
        ):
            value = getattr(item, attribute, None)
            if isinstance(item, annotated_types.BaseMetadata) and value is not None:
                words.append(f"{word} {value:g}" if isinstance(value, float) else f"{word} {value}")
    return f" ({', '.join(words)})" if words else ""


def describe_type(annotation: Any, metadata: Iterable[object] = ()) -> str:
    """The expected form of a value of `annotation`, in words."""
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Annotated:
        return describe_type(args[0], args[1:])
    if origin in (Union, types.UnionType):
        present = [arg for arg in args if arg is not type(None)]
        # dict.fromkeys: IPv4Network | IPv6Network reads "a network in CIDR form" once.
        return " or ".join(dict.fromkeys(describe_type(arg, metadata) for arg in present))
    if origin is Literal:
        return "one of " + ", ".join(str(arg) for arg in args)
    if origin is list:
        return f"a JSON list, each item {describe_type(args[0]) if args else 'a value'}"
    if annotation is bool:
        return "true or false"
    if annotation is int:
        return "a whole number" + _bounds(metadata)
    if annotation is float:
        return "a number" + _bounds(metadata)
    if annotation is SecretStr:
        return "a token"
    if isinstance(annotation, type) and issubclass(annotation, AnyUrl):
        return "an http:// or https:// URL"
    if isinstance(annotation, type) and issubclass(
        annotation, ipaddress.IPv4Network | ipaddress.IPv6Network
    ):
        return "a network in CIDR form"
    if annotation is str:
        patterns = [getattr(item, "pattern", None) for item in metadata]
        pattern = next((p for p in patterns if p), None)
        return f"text matching {pattern}" if pattern else "text"
    return getattr(annotation, "__name__", str(annotation))


def env_form(value: object) -> str:
    """A value as it is written in the environment or `.env`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return json.dumps([env_form(item) for item in value])
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def example(name: str, field: FieldInfo) -> str:
    """A valid value, quoted for a shell where it needs it."""
    text = EXAMPLES.get(name) or env_form(field.get_default(call_default_factory=True))
    return f"'{text}'" if text.startswith("[") else text


def _problem(detail: ErrorDetails) -> str:
    kind = detail["type"]
    if kind in PROBLEMS:
        return PROBLEMS[kind]
    message = str(detail["msg"]).removeprefix("Value error, ")
    return message[:1].lower() + message[1:]


def _shown(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = redact(text)
    return repr(text if len(text) <= 80 else text[:77] + "...")


def sentence(name: str, problems: list[str], value: object, *, secret: bool) -> str:
    """One key's sentence: name, value and its problem, the expected form, an example."""
    field = Settings.model_fields[name]
    given = " (not shown)" if secret else "" if value is None else f"={_shown(value)}"
    expected = describe_type(field.annotation, field.metadata)
    return (
        f"{env_name(name)}{given} {'; '.join(problems)}: expected {expected}, "
        f"for example {env_name(name)}={example(name, field)}."
    )


def validation_sentences(error: ValidationError) -> list[str]:
    """One sentence per key of a settings ValidationError."""
    by_key: dict[str, list[ErrorDetails]] = {}
    for detail in error.errors(include_url=False):
        by_key.setdefault(str(detail["loc"][0]), []).append(detail)
    sentences = []
    for name, details in by_key.items():
        if name not in Settings.model_fields:
            sentences.append(f"{env_name(name)}: {_problem(details[0])}.")
            continue
        secret = is_secret(name, Settings.model_fields[name])
        problems, value = [], None
        for detail in details:
            if len(detail["loc"]) > 1 and isinstance(detail["loc"][1], int):
                shown = "" if secret else f" {_shown(detail.get('input'))}"
                problems.append(f"item {detail['loc'][1] + 1}{shown} {_problem(detail)}")
            else:
                problems.append(_problem(detail))
                value = detail.get("input")
        sentences.append(sentence(name, problems, value, secret=secret))
    return sentences


def settings_error_sentences(error: ValidationError | SettingsError) -> list[str]:
    """What is wrong with the settings, one sentence per key, without secrets."""
    if isinstance(error, ValidationError):
        return validation_sentences(error)
    found = re.search(r'field "(\w+)"', str(error))
    if found is None or found.group(1) not in Settings.model_fields:
        return [f"The settings could not be read: {redact(str(error))}."]
    name = found.group(1)
    cause = error.__cause__
    reason = f" ({cause.msg})" if isinstance(cause, json.JSONDecodeError) else ""
    problem = f"is not valid JSON{reason}"
    return [sentence(name, [problem], None, secret=is_secret(name, Settings.model_fields[name]))]


def load_settings(env_file: Path | str = ".env") -> Settings:
    """The settings from the environment and `env_file`; wrong ones end the process with exit 2.

    `env_file` is read when it exists; the environment wins over it.
    """
    try:
        return Settings(_env_file=env_file)
    except (ValidationError, SettingsError) as error:
        sentences = settings_error_sentences(error)
        heading = "setting is" if len(sentences) == 1 else "settings are"
        lines = [f"The service cannot start: {len(sentences)} {heading} wrong."]
        lines += [f"  {text}" for text in sentences]
        print("\n".join(lines), file=sys.stderr, flush=True)
        raise SystemExit(SETTINGS_EXIT_CODE) from None


def settings_summary(settings: Settings) -> str:
    """Every setting in effect, as `NAME=value`; secrets only as set or not set."""
    parts = []
    for name, field in Settings.model_fields.items():
        value = getattr(settings, name)
        secret = is_secret(name, field)
        shown = env_form(value) if not secret else "set" if value else "not set"
        parts.append(f"{env_name(name)}={shown}")
    return " ".join(parts)
