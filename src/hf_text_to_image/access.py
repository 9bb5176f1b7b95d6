"""Who may spend the operator's Hugging Face token (`HF_TOKEN`).

Engine tasks may: they come from the engines the service trusts. A direct caller may only
with one of the operator's API keys (`Authorization: Bearer <key>`); anyone else brings a
token of their own. The settings keep the keys' SHA-256 digests only, never the keys.
"""

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import SecretStr

from .errors import AccessRefusedError, InvalidInputError
from .tokens import PLACEHOLDER_ADVICE, is_placeholder_token

NO_CREDENTIAL_MESSAGE = (
    "json_description has no api_token and the service has no default token: "
    "add your Hugging Face token as api_token."
)
# How to get a token of one's own, said in every refusal.
WHERE_TO_GET_ONE = "create one at https://huggingface.co/settings/tokens"


def hash_api_key(key: str) -> str:
    """The digest an operator lists in API_KEY_HASHES for `key` (SHA-256, hex)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def is_operator_key(presented: str, key_hashes: Sequence[str]) -> bool:
    """True when `presented` is one of the operator's keys; constant time in its content."""
    digest = hash_api_key(presented)
    matched = False
    for stored in key_hashes:  # every digest compared: no early exit to time
        matched |= hmac.compare_digest(digest, stored)
    return matched


@dataclass(frozen=True)
class TokenGrant:
    """The Hugging Face token a request may use when it brings none of its own.

    `operator_token` is HF_TOKEN when this caller may spend it; `refusal` is the sentence of
    the 401 when HF_TOKEN exists but is not this caller's to spend; `caller_token` is a token
    the caller sent outside the description (an `Authorization` header that is no API key).
    """

    operator_token: SecretStr | None
    refusal: str | None = None
    caller_token: SecretStr | None = None

    @classmethod
    def for_engine_task(cls, hf_token: SecretStr | None) -> "TokenGrant":
        """Engine tasks come from trusted engines: they may use HF_TOKEN."""
        return cls(operator_token=hf_token)

    def token_for(self, own: SecretStr | None) -> str:
        """The caller's own token, else the operator's if granted; 401 or 400 otherwise."""
        own = own if own is not None else self.caller_token
        if own is not None:
            return own.get_secret_value().strip()
        if self.operator_token is not None and self.operator_token.get_secret_value():
            return self.operator_token.get_secret_value()
        if self.refusal is not None:
            raise AccessRefusedError(self.refusal)
        raise InvalidInputError(NO_CREDENTIAL_MESSAGE)


def grant_for_caller(
    bearer: str | None,
    *,
    hf_token: SecretStr | None,
    key_hashes: Sequence[str],
    bearer_is_hf_token: bool,
    how_to_bring_one: str,
) -> TokenGrant:
    """What a direct caller may use, from the credential of its `Authorization: Bearer`.

    An operator key grants HF_TOKEN. Any other bearer is refused, or, where the endpoint
    takes the caller's Hugging Face token that way (`bearer_is_hf_token`), is that token.
    """
    if bearer is not None and is_operator_key(bearer, key_hashes):
        return TokenGrant(operator_token=hf_token)
    if bearer is not None and bearer_is_hf_token and is_placeholder_token(bearer):
        # Sent upstream, it would only come back as a 401 naming no cause.
        raise InvalidInputError(f"The token in the Authorization header {PLACEHOLDER_ADVICE}.")
    if bearer is not None and not bearer_is_hf_token:
        raise AccessRefusedError(
            "The API key in the Authorization header is not valid: send a key the operator "
            f"gave you, or leave the header out and {how_to_bring_one} ({WHERE_TO_GET_ONE})."
        )
    caller_token = SecretStr(bearer) if bearer is not None else None
    if hf_token is None or not hf_token.get_secret_value():
        return TokenGrant(operator_token=None, caller_token=caller_token)
    return TokenGrant(
        operator_token=None,
        caller_token=caller_token,
        refusal=(
            "This service's own Hugging Face token is only for callers with an API key: "
            f"{how_to_bring_one} ({WHERE_TO_GET_ONE}), or ask the operator for an API key and send "
            "it as 'Authorization: Bearer <key>'."
        ),
    )
