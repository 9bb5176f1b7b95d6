"""Direct calls counted by endpoint, provider and status, whatever the answer was."""

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from ..errors import ServiceError
from .deps import runtime_of


def status_of(error: Exception) -> int:
    """The HTTP status the error handlers will answer for `error`."""
    if isinstance(error, ServiceError):
        return error.http_status
    if isinstance(error, RequestValidationError):
        return 422
    if isinstance(error, HTTPException):
        return error.status_code
    return 500


class CountedRoute(APIRoute):
    """Counts each answer in `direct_requests`: dependencies' and validation's refusals too.

    The provider comes from the answer's `X-Provider` header, or from the error raised.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        endpoint = self.path

        async def handle(request: Request) -> Response:
            metrics = runtime_of(request).metrics
            try:
                response = await handler(request)
            except Exception as error:
                provider = error.provider if isinstance(error, ServiceError) else None
                metrics.direct_call(endpoint, provider, status_of(error))
                raise
            metrics.direct_call(endpoint, response.headers.get("x-provider"), response.status_code)
            return response

        return handle
