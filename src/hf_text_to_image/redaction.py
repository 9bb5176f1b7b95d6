"""Keeping secrets out of anything a person or a log can read."""

import re
from collections.abc import Iterable

# Hugging Face user access tokens look like `hf_` + 30-odd letters; catch them even when a
# caller's token is not known to us (an upstream echoing another one, say).
_HF_TOKEN_PATTERN = re.compile(r"hf_[A-Za-z0-9]{8,}")
_BEARER_PATTERN = re.compile(r"(?i)(bearer\s+)[^\s\"',;]+")
REDACTED = "***"


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Return `text` with every known secret, Hugging Face token and bearer credential masked."""
    # Longest first, so a secret that contains another is masked whole.
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    text = _HF_TOKEN_PATTERN.sub(REDACTED, text)
    return _BEARER_PATTERN.sub(rf"\g<1>{REDACTED}", text)
