"""Translation of an upstream error answer into a sentence a user can act on."""

import json

import pytest

from hf_text_to_image.errors import ModelLoadingError, UpstreamError
from hf_text_to_image.huggingface.failures import (
    estimated_load_time,
    upstream_detail,
    upstream_error,
)

TOKEN = "hf_SECRETtoken1234567890"
MODEL = "black-forest-labs/FLUX.1-dev"
REQUEST_ID = "Root=1-67ab12cd-0123456789abcdef01234567"

# Bodies as the real API sends them (see HF_API.md, section 4).
ANSWERS: list[tuple[int, bytes, str, str]] = [
    (
        400,
        b'{"error":"Input validation error: `inputs` must be non-empty"}',
        "The API refused the request (400): check the parameters in json_description",
        "Input validation error: `inputs` must be non-empty",
    ),
    (
        401,
        b'{"error":"Invalid credentials in Authorization header"}',
        "Hugging Face refused the access token (401): check api_token, it may be wrong or revoked",
        "Invalid credentials in Authorization header",
    ),
    (
        402,
        b'{"error":"You have exceeded your monthly included credits for Inference Providers. '
        b'Subscribe to PRO to get 20x more monthly included credits."}',
        "Your Hugging Face inference credits are used up (402): add credits or a PRO "
        "subscription, or use another provider",
        "You have exceeded your monthly included credits for Inference Providers.",
    ),
    (
        403,
        b'{"error":"This authentication method does not have sufficient permissions to call '
        b'Inference Providers on behalf of user alice"}',
        f"The token may not call {MODEL} (403): give it the 'Make calls to Inference "
        "Providers' permission, or accept the model's conditions if it is gated",
        "does not have sufficient permissions to call Inference Providers on behalf of user alice",
    ),
    (
        404,
        b"Not Found",
        f"The model {MODEL} is not served at this URL (404): choose a model that the "
        "inference API serves, or the URL of your own endpoint",
        "Not Found",
    ),
    (
        410,
        b'{"error":"https://api-inference.huggingface.co is no longer supported. '
        b'Please use https://router.huggingface.co/hf-inference instead."}',
        f"The model {MODEL} is not served at this URL (410)",
        "is no longer supported. Please use https://router.huggingface.co/hf-inference instead.",
    ),
    (
        422,
        b'{"detail":[{"loc":["body","parameters","width"],"msg":"value is not a valid integer"}]}',
        "The API refused the request (422): check the parameters in json_description",
        "value is not a valid integer",
    ),
    (
        429,
        b'{"error":"Rate limit reached. You reached free usage limit (reset hourly)."}',
        "Hugging Face is rate-limiting these requests (429): wait a little and submit again",
        "Rate limit reached. You reached free usage limit (reset hourly).",
    ),
    (
        500,
        b'{"error":"Model too busy, unable to get response in less than 120 second(s)"}',
        "The inference API failed (500): try again later",
        "Model too busy, unable to get response in less than 120 second(s)",
    ),
    (
        503,
        f'{{"error":"Model {MODEL} is currently loading","estimated_time":2315.18}}'.encode(),
        f"The model {MODEL} is still loading or unavailable (503): try again in a few minutes",
        f"Model {MODEL} is currently loading",
    ),
]


@pytest.mark.parametrize(("status", "body", "advice", "detail"), ANSWERS)
def test_upstream_error_message_per_status(
    status: int, body: bytes, advice: str, detail: str
) -> None:
    error = upstream_error(status, body, {"x-request-id": REQUEST_ID}, model=MODEL)

    assert advice in error.message
    assert detail in error.message
    assert error.message.endswith(f" (request id {REQUEST_ID}).")
    assert error.status_code == status


@pytest.mark.parametrize(("status", "body", "advice", "detail"), ANSWERS)
def test_upstream_error_token_echo_never_shown(
    status: int, body: bytes, advice: str, detail: str
) -> None:
    echo = json.dumps({"error": f"Authorization: Bearer {TOKEN} refused; token {TOKEN}"})

    error = upstream_error(
        status, echo.encode(), {"x-request-id": f"req-{TOKEN}"}, model=MODEL, secrets=[TOKEN]
    )

    assert TOKEN not in error.message
    assert "SECRET" not in error.message
    assert advice in error.message


def test_upstream_error_unknown_token_shape_redacted_when_known() -> None:
    secret = "endpoint-key-0123456789"  # an Endpoint token, not in the `hf_` shape

    error = upstream_error(
        401, f"key {secret} is invalid".encode(), {}, model=MODEL, secrets=[secret]
    )

    assert secret not in error.message
    assert 'The API said: "key *** is invalid"' in error.message


def test_upstream_error_shape_of_full_message() -> None:
    error = upstream_error(
        401,
        b'{"error":"Invalid credentials in Authorization header"}',
        {"x-request-id": "abc-123"},
        model=MODEL,
    )

    assert error.message == (
        "Hugging Face refused the access token (401): check api_token, it may be wrong or "
        'revoked. The API said: "Invalid credentials in Authorization header" '
        "(request id abc-123)."
    )


def test_upstream_error_without_detail_or_request_id() -> None:
    error = upstream_error(502, b"<html><body>Bad Gateway</body></html>", {}, model=MODEL)

    assert error.message == "The inference API failed (502): try again later."


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(503, ModelLoadingError), (500, UpstreamError), (429, UpstreamError), (401, UpstreamError)],
)
def test_upstream_error_type(status: int, error_type: type[UpstreamError]) -> None:
    error = upstream_error(status, b"", {}, model=MODEL)

    assert type(error) is error_type


def test_upstream_error_http_status_of_loading_model() -> None:
    assert upstream_error(503, b"", {}, model=MODEL).http_status == 503
    assert upstream_error(500, b"", {}, model=MODEL).http_status == 502


@pytest.mark.parametrize(
    "headers",
    [{"x-amzn-trace-id": REQUEST_ID}, {"x-amz-cf-id": REQUEST_ID}, {"x-request-id": REQUEST_ID}],
)
def test_upstream_error_request_id_headers(headers: dict[str, str]) -> None:
    error = upstream_error(500, b"", headers, model=MODEL)

    assert error.message.endswith(f"(request id {REQUEST_ID}).")


def test_upstream_error_detail_cut_short() -> None:
    error = upstream_error(500, json.dumps({"error": "y" * 5000}).encode(), {}, model=MODEL)

    assert f'"{"y" * 300}"' in error.message
    assert "y" * 301 not in error.message


def test_upstream_error_redacted_before_cut() -> None:
    # A token straddling the 300-character cut must not leave its first half behind.
    body = json.dumps({"error": "z" * 290 + TOKEN}).encode()

    error = upstream_error(500, body, {}, model=MODEL)

    assert "hf_SECR" not in error.message
    assert "z" * 290 + "***" in error.message


# upstream_detail


@pytest.mark.parametrize(
    ("body", "headers", "expected"),
    [
        (b'{"error":"from body"}', {"x-error-message": "from header"}, "from header"),
        (b'{"error":"plain"}', {}, "plain"),
        (b'{"error":["first","second"]}', {}, "first; second"),
        (b'{"detail":"Not authenticated"}', {}, "Not authenticated"),
        (
            b'{"message":"Pay-as-you go is not enabled for provider fal-ai yet."}',
            {},
            "Pay-as-you go is not enabled for provider fal-ai yet.",
        ),
        (b'{"error_description":"token expired"}', {}, "token expired"),
        (b'{"errors":[{"message":"bad width"},"bad height"]}', {}, "bad width; bad height"),
        (b'{"estimated_time": 20}', {}, ""),
        (b"  Model too busy  \n", {}, "Model too busy"),
        (b"<!DOCTYPE html><html>Gateway</html>", {}, ""),
        (b"", {}, ""),
        (b"[1, 2]", {}, "[1, 2]"),
        (b"\xff\xfe not utf-8", {}, "\ufffd\ufffd not utf-8"),
    ],
)
def test_upstream_detail(body: bytes, headers: dict[str, str], expected: str) -> None:
    assert upstream_detail(body, headers) == expected


def test_upstream_detail_deeply_nested_json_as_text() -> None:
    body = b"[" * 100_000

    assert upstream_detail(body, {}) == "[" * 100_000


# estimated_load_time


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"error":"Model x is currently loading","estimated_time":2315.18}', 2315.18),
        (b'{"estimated_time": 20}', 20.0),
        (b'{"estimated_time": -3}', 0.0),
        (b'{"estimated_time": "20"}', None),
        (b'{"error":"Service Unavailable"}', None),
        (b"Service Unavailable", None),
        (b"\xff\xfe", None),
        (b"[20]", None),
        (b"[" * 100_000, None),
    ],
)
def test_estimated_load_time(body: bytes, expected: float | None) -> None:
    assert estimated_load_time(body) == expected
