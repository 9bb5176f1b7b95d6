"""Pure translation of an upstream error answer into a sentence a user can act on."""

import json
from collections.abc import Iterable, Mapping

from ..errors import ModelLoadingError, UpstreamError
from ..redaction import redact

_REQUEST_ID_HEADERS = ("x-request-id", "x-amzn-trace-id", "x-amz-cf-id")
_DETAIL_LIMIT = 300


def error_words(error: object) -> str:
    """Readable text from an error field: a string, a list, or objects with a message."""
    if isinstance(error, list):
        return "; ".join(error_words(item) for item in error)
    if isinstance(error, dict):
        message = error.get("message") or error.get("msg")
        return str(message) if message else str(error)
    return str(error)


def error_in(document: object) -> str | None:
    """The words of a JSON answer's `error` key, None when it carries none."""
    if isinstance(document, dict) and document.get("error"):
        return error_words(document["error"])
    return None


def upstream_detail(body: bytes, headers: Mapping[str, str]) -> str:
    """The upstream's own words: `X-Error-Message`, JSON `error`/`errors`, or plain text."""
    if headers.get("x-error-message"):
        return headers["x-error-message"]
    text = body.decode("utf-8", errors="replace").strip()
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        document = None
    if isinstance(document, dict):
        error = document.get("error") or document.get("detail") or document.get("message")
        if error:
            return error_words(error)
        if document.get("error_description"):
            return str(document["error_description"])
        if isinstance(document.get("errors"), list):
            return error_words(document["errors"])
        return ""
    if text.startswith("<"):
        return ""
    return text


def estimated_load_time(body: bytes) -> float | None:
    """`estimated_time` from a model-loading 503, when present."""
    try:
        document = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        return None
    if isinstance(document, dict) and isinstance(document.get("estimated_time"), int | float):
        return max(0.0, float(document["estimated_time"]))
    return None


def _advice(status: int, model: str) -> str:
    if status == 401:
        return "Hugging Face refused the access token (401): check api_token, it may be wrong or revoked"
    if status == 402:
        return (
            "Your Hugging Face inference credits are used up (402): add credits or a PRO "
            "subscription, or use another provider"
        )
    if status == 403:
        return (
            f"The token may not call {model} (403): give it the 'Make calls to Inference "
            "Providers' permission, or accept the model's conditions if it is gated"
        )
    if status in (404, 410):
        return (
            f"The model {model} is not served at this URL ({status}): choose a model that "
            "the inference API serves, or the URL of your own endpoint"
        )
    if status in (400, 422):
        return f"The API refused the request ({status}): check the parameters in json_description"
    if status == 429:
        return "Hugging Face is rate-limiting these requests (429): wait a little and submit again"
    if status == 503:
        return (
            f"The model {model} is still loading or unavailable (503): try again in a few minutes"
        )
    return f"The inference API failed ({status}): try again later"


def upstream_error(
    status: int,
    body: bytes,
    headers: Mapping[str, str],
    *,
    model: str,
    secrets: Iterable[str] = (),
) -> UpstreamError:
    """The typed error for a non-success answer, with the upstream's words and request id."""
    message = _advice(status, model)
    detail = redact(upstream_detail(body, headers), secrets)[:_DETAIL_LIMIT]
    if detail:
        message += f'. The API said: "{detail}"'
    request_id = next((headers[name] for name in _REQUEST_ID_HEADERS if headers.get(name)), None)
    if request_id:
        message += f" (request id {redact(request_id, secrets)[:100]})"
    error_type = ModelLoadingError if status == 503 else UpstreamError
    return error_type(message + ".", status_code=status)
