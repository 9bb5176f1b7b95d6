"""Telling a real token from the placeholders that examples and docs show."""

# `hf_...` in the README, `hf_xxx` and `<token>` in many tutorials.
PLACEHOLDER_MARKS = ("...", "…", "<", ">", "hf_xxx")


def is_placeholder_token(token: str) -> bool:
    """True for `hf_...` and the like: sent upstream, they only earn a 401."""
    lowered = token.strip().lower()
    return any(mark in lowered for mark in PLACEHOLDER_MARKS)


PLACEHOLDER_ADVICE = (
    "is the placeholder from the examples, not a token: put your own Hugging Face token "
    "(https://huggingface.co/settings/tokens)"
)
