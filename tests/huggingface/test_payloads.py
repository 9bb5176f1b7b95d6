"""Pure functions that turn the caller's description and prompt into an HTTP request."""

import json
from typing import Any

import pytest
from pydantic import SecretStr

from hf_text_to_image.access import TokenGrant
from hf_text_to_image.errors import InvalidInputError
from hf_text_to_image.huggingface.payloads import (
    InferenceRequest,
    build_headers,
    build_request,
    encode_json,
)
from hf_text_to_image.inputs import JsonDescription

from .test_routing import (
    BASE_URL,
    LEGACY_URL,
    MODEL,
    ROUTER_URL,
    TOKEN,
    description,
    resolve_target,
)

DEFAULT_TOKEN = "hf_OPERATORtoken0987654321"


def build_inference_request(
    described: JsonDescription, prompt: str, *, model_base_url: str, default_token: str | None
) -> InferenceRequest:
    grant = TokenGrant.for_engine_task(SecretStr(default_token) if default_token else None)
    token = grant.token_for(described.api_token)
    return build_request(resolve_target(described, model_base_url), described, prompt, token)


def build(
    prompt: str = "A cat", default_token: str | None = None, **fields: Any
) -> InferenceRequest:
    return build_inference_request(
        description(**fields), prompt, model_base_url=BASE_URL, default_token=default_token
    )


# The body


@pytest.mark.parametrize(
    "prompt",
    [
        'A "quoted" cat',
        "back\\slash \\n not a newline \\u0041",
        "line one\nline two\r\n\tindented",
        "a cat 🐈 on the moon 🌕",
        "一只在月球上的猫",
        "قطة على القمر",
        "</script><b>'single' & \"double\"</b>",
        '{"inputs": "injected"}',
    ],
)
def test_build_request_body_carries_prompt_exactly(prompt: str) -> None:
    request = build(prompt)

    assert json.loads(request.body) == {"inputs": prompt, "parameters": {}}
    assert request.body.startswith(b'{"inputs": ')


@pytest.mark.parametrize(
    "prompt", ["a cat 🐈 on the moon 🌕", "一只在月球上的猫", "قطة على القمر", "café crème"]
)
def test_build_request_body_keeps_utf8_literal(prompt: str) -> None:
    request = build(prompt)

    assert prompt.encode("utf-8") in request.body
    assert b"\\u" not in request.body


def test_build_request_body_exact_bytes() -> None:
    request = build('say "hi"\n\\ 🐈', parameters={"width": 512, "height": 512})

    assert request.body == (
        b'{"inputs": "say \\"hi\\"\\n\\\\ \xf0\x9f\x90\x88", '
        b'"parameters": {"width": 512, "height": 512}}'
    )


def test_build_request_body_parameters_nested() -> None:
    request = build(
        parameters={
            "negative_prompt": "blurry",
            "guidance_scale": 7.5,
            "num_inference_steps": 25,
            "target_size": {"width": 640, "height": 480},
            "output_format": "png",
        }
    )

    assert json.loads(request.body) == {
        "inputs": "A cat",
        "parameters": {
            "negative_prompt": "blurry",
            "guidance_scale": 7.5,
            "num_inference_steps": 25,
            "width": 640,
            "height": 480,
            "output_format": "png",
        },
    }


def test_build_request_body_flat_parameters() -> None:
    # The dedicated endpoint of seed 004 takes its parameters beside `inputs`.
    request = build(
        "A hummingbird",
        api_url="https://xyz.us-east-1.aws.endpoints.huggingface.cloud",
        flat_parameters=True,
        parameters={
            "negative_prompt": "blurry",
            "width": 512,
            "height": 512,
            "lora_scale": 0.8,
        },
    )

    assert json.loads(request.body) == {
        "negative_prompt": "blurry",
        "width": 512,
        "height": 512,
        "lora_scale": 0.8,
        "inputs": "A hummingbird",
    }


def test_encode_json_refuses_nan() -> None:
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        encode_json({"inputs": "p", "parameters": {"guidance_scale": float("nan")}})


# The headers


def test_build_request_headers() -> None:
    request = build()

    assert request.headers == {
        "Authorization": f"Bearer {TOKEN}",
        "Content-Type": "application/json",
        "Accept": "image/png",
    }


def test_build_request_use_cache_false_header() -> None:
    request = build(use_cache=False)

    assert request.headers["x-use-cache"] == "false"


def test_build_request_no_wait_for_model_header() -> None:
    # Sent only after a 503 says the model is loading, never on the first call.
    assert "x-wait-for-model" not in build().headers


def test_build_headers_wait_for_model() -> None:
    headers = build_headers(TOKEN, use_cache=True, wait_for_model=True)

    assert headers["x-wait-for-model"] == "true"
    assert "x-use-cache" not in headers


def test_build_request_token_trimmed() -> None:
    request = build(api_token=f"  {TOKEN}\n")

    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


# The token


def test_build_request_caller_token_wins_over_default() -> None:
    request = build(default_token=DEFAULT_TOKEN)

    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_build_request_default_token_when_missing() -> None:
    request = build_inference_request(
        JsonDescription.model_validate({"api_url": ROUTER_URL}),
        "A cat",
        model_base_url=BASE_URL,
        default_token=DEFAULT_TOKEN,
    )

    assert request.headers["Authorization"] == f"Bearer {DEFAULT_TOKEN}"


@pytest.mark.parametrize("default_token", [None, ""])
def test_no_token_at_all_refused(default_token: str | None) -> None:
    grant = TokenGrant.for_engine_task(
        SecretStr(default_token) if default_token is not None else None
    )
    with pytest.raises(InvalidInputError) as caught:
        grant.token_for(JsonDescription.model_validate({"model": "org/model"}).api_token)

    assert caught.value.message == (
        "json_description has no api_token and the service has no default token: "
        "add your Hugging Face token as api_token."
    )


# The target


def test_build_request_target() -> None:
    request = build(api_url=LEGACY_URL)

    assert str(request.target.url) == ROUTER_URL
    assert request.target.model == MODEL
