"""One place that turns the service's errors into HTTP answers."""

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from ..errors import AccessRefusedError, ServiceBusyError, ServiceError

logger = logging.getLogger(__name__)


def error_headers(error: ServiceError) -> dict[str, str] | None:
    """What a client needs beside the sentence: when to retry, how to authenticate, and
    which provider failed (as `X-Provider`, the header a success carries too)."""
    headers: dict[str, str] = {}
    if isinstance(error, ServiceBusyError):
        headers["Retry-After"] = "5"
    if isinstance(error, AccessRefusedError):
        headers["WWW-Authenticate"] = "Bearer"
    if error.provider:
        headers["X-Provider"] = error.provider
    return headers or None


def log_refusal(request: Request, error: ServiceError) -> None:
    logger.info(
        "%s %s -> %d: %s", request.method, request.url.path, error.http_status, error.message
    )


async def service_error_handler(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ServiceError)
    log_refusal(request, error)
    return JSONResponse(
        {"detail": error.message}, status_code=error.http_status, headers=error_headers(error)
    )


async def validation_error_handler(request: Request, error: Exception) -> JSONResponse:
    """FastAPI's 422, minus the offending values: they can hold S3 secrets or tokens."""
    assert isinstance(error, RequestValidationError)
    details = [
        {"loc": list(item.get("loc", ())), "msg": item.get("msg", ""), "type": item.get("type", "")}
        for item in error.errors()
    ]
    return JSONResponse({"detail": details}, status_code=422)


def register_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, service_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
