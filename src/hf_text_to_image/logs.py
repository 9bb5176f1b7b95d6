"""Logging set-up: plain text or JSON lines, and a last line of defence against secrets."""

import json
import logging
from datetime import UTC, datetime

from .redaction import redact


class RedactingFilter(logging.Filter):
    """Masks token-shaped strings in every record, whatever code logged it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


# Libraries whose DEBUG and INFO lines carry request headers, signatures, access key ids or
# bodies: held at WARNING whatever LOG_LEVEL says, so that no credential reaches the log.
CAPPED_LOGGERS = (
    "botocore",
    "aiobotocore",
    "boto3",
    "s3transfer",
    "urllib3",
    "aiohttp",
    "httpcore",
    # INFO: every request's full URL, presigned storage URLs' signatures included.
    "httpx",
    "hpack",
    "python_multipart",
    "multipart",
)


def configure_logging(level: str, log_format: str) -> None:
    """Route every logger (uvicorn's too) through one handler with the chosen format."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_hf_text_to_image", False)]:
        root.removeHandler(old)
    handler._hf_text_to_image = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    for name in CAPPED_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
