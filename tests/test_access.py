"""Who may use the operator's token: key digests, constant-time checks, the grant's decisions."""

import hashlib
import shutil
import subprocess

import pytest
from pydantic import SecretStr, ValidationError

from hf_text_to_image.access import TokenGrant, grant_for_caller, hash_api_key, is_operator_key
from hf_text_to_image.config import Settings
from hf_text_to_image.errors import AccessRefusedError, InvalidInputError

KEY = "sk-operator-key-0123456789abcdefghijklmnop"
OPERATOR_TOKEN = SecretStr("hf_OPERATORtoken0987654321")
HINT = "add your own token as api_token"


def grant(bearer: str | None, *, bearer_is_hf_token: bool = False) -> TokenGrant:
    return grant_for_caller(
        bearer,
        hf_token=OPERATOR_TOKEN,
        key_hashes=[hash_api_key("another key"), hash_api_key(KEY)],
        bearer_is_hf_token=bearer_is_hf_token,
        how_to_bring_one=HINT,
    )


def test_hash_api_key_is_what_sha256sum_prints() -> None:
    sha256sum = shutil.which("sha256sum")
    assert sha256sum is not None
    printed = subprocess.run(  # noqa: S603 - the README's recipe, with a fixed program
        [sha256sum], input=KEY.encode(), capture_output=True, check=True
    ).stdout.split()[0]
    assert hash_api_key(KEY) == printed.decode() == hashlib.sha256(KEY.encode()).hexdigest()


def test_is_operator_key_only_for_listed_keys() -> None:
    hashes = [hash_api_key("a"), hash_api_key(KEY)]
    assert is_operator_key(KEY, hashes)
    assert not is_operator_key(KEY + "x", hashes)
    assert not is_operator_key(hash_api_key(KEY), hashes)  # the digest is not the key
    assert not is_operator_key(KEY, [])


def test_settings_keep_digests_in_lower_case_and_refuse_anything_else() -> None:
    digest = hash_api_key(KEY)
    settings = Settings(_env_file=None, api_key_hashes=[digest.upper()])
    assert settings.api_key_hashes == [digest]
    with pytest.raises(ValidationError, match="api_key_hashes"):
        Settings(_env_file=None, api_key_hashes=[KEY])


def test_operator_key_grants_the_operator_token() -> None:
    assert grant(KEY).token_for(None) == OPERATOR_TOKEN.get_secret_value()


def test_own_token_always_wins() -> None:
    assert grant(None).token_for(SecretStr("hf_mine")) == "hf_mine"
    assert grant(KEY).token_for(SecretStr("hf_mine")) == "hf_mine"


def test_no_token_and_no_key_is_refused_saying_how_to_get_access() -> None:
    with pytest.raises(AccessRefusedError) as caught:
        grant(None).token_for(None)
    assert HINT in caught.value.message
    assert "Authorization: Bearer <key>" in caught.value.message
    assert "https://huggingface.co/settings/tokens" in caught.value.message


def test_wrong_key_is_refused_even_with_a_token_of_ones_own() -> None:
    with pytest.raises(AccessRefusedError, match=r"API key .* is not valid"):
        grant("not the key")


def test_bearer_as_hf_token_where_the_endpoint_takes_it_that_way() -> None:
    assert grant("hf_mine", bearer_is_hf_token=True).token_for(None) == "hf_mine"
    assert grant(KEY, bearer_is_hf_token=True).token_for(None) == OPERATOR_TOKEN.get_secret_value()
    with pytest.raises(AccessRefusedError):
        grant(None, bearer_is_hf_token=True).token_for(None)


def test_without_hf_token_nobody_is_refused_for_access_only_for_no_token() -> None:
    open_grant = grant_for_caller(
        None, hf_token=None, key_hashes=[], bearer_is_hf_token=False, how_to_bring_one=HINT
    )
    with pytest.raises(InvalidInputError, match="no api_token"):
        open_grant.token_for(None)


def test_engine_tasks_may_use_the_operator_token() -> None:
    assert (
        TokenGrant.for_engine_task(OPERATOR_TOKEN).token_for(None) == "hf_OPERATORtoken0987654321"
    )
