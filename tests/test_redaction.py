"""Keeping secrets out of anything a person or a log can read."""

import pytest

from hf_text_to_image.redaction import REDACTED, redact

TOKEN = "hf_SECRETtoken1234567890"


def test_redact_known_secret() -> None:
    assert redact("key=s3cr3t-value!", ["s3cr3t-value"]) == f"key={REDACTED}!"


def test_redact_every_occurrence() -> None:
    assert redact("abcd and abcd again", ["abcd"]) == f"{REDACTED} and {REDACTED} again"


def test_redact_several_secrets() -> None:
    text = redact("user AKIAEXAMPLE pass wJalrXUtnFEMI", ["AKIAEXAMPLE", "wJalrXUtnFEMI"])

    assert text == f"user {REDACTED} pass {REDACTED}"


def test_redact_secret_containing_another_masked_whole() -> None:
    text = redact("the key is abcdefgh.", ["abcd", "abcdefgh"])

    assert text == f"the key is {REDACTED}."
    assert "efgh" not in text


@pytest.mark.parametrize("secret", [None, "", "abc"])
def test_redact_empty_or_short_secret_ignored(secret: str | None) -> None:
    # Masking one to three characters would shred ordinary text and reveal nothing secret.
    assert redact("abc abc", [secret]) == "abc abc"


def test_redact_hf_token_without_being_told() -> None:
    text = redact(f"Invalid token {TOKEN} for this model")

    assert text == f"Invalid token {REDACTED} for this model"


def test_redact_hf_token_inside_json() -> None:
    text = redact(f'{{"error":"bad credentials {TOKEN}","token":"hf_abcdefgh12"}}')

    assert text == f'{{"error":"bad credentials {REDACTED}","token":"{REDACTED}"}}'


def test_redact_short_hf_prefix_kept() -> None:
    # `hf_` with fewer than eight characters after it is ordinary text (`hf_hub`, `hf_api`).
    assert redact("see hf_hub and hf_api") == "see hf_hub and hf_api"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abc.def-ghi", f"Authorization: Bearer {REDACTED}"),
        ("authorization: bearer xyz123", f"authorization: bearer {REDACTED}"),
        ('{"Authorization": "BEARER tok-en"}', f'{{"Authorization": "BEARER {REDACTED}"}}'),
        ("Bearer   spaced, next", f"Bearer   {REDACTED}, next"),
    ],
)
def test_redact_bearer_credential(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_redact_bearer_hf_token() -> None:
    text = redact(f"header was 'Bearer {TOKEN}'", [TOKEN])

    assert TOKEN not in text
    assert text == f"header was 'Bearer {REDACTED}'"


def test_redact_plain_text_unchanged() -> None:
    text = "Model org/name is currently loading (estimated 20 s)"

    assert redact(text, ["unrelated-secret"]) == text


def test_redact_unicode_text_kept() -> None:
    assert redact(f"令牌 {TOKEN} 无效 🚫") == f"令牌 {REDACTED} 无效 🚫"
