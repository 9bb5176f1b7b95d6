"""The HTTP client's transport: httpx's API over aiohttp's connections.

httpx-aiohttp moves bytes with aiohttp, at a fraction of httpcore's CPU per request (README,
Performance). Its failures are put back into the exceptions httpcore raises, which the rest
of the service tells apart: httpx-aiohttp reports a refused connection and a connection
dropped before the answer both as `ConnectTimeout`, and lets some aiohttp errors through.
"""

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import aiohttp
import httpx
import httpx_aiohttp

# Most specific first: the first aiohttp type an error is an instance of decides.
HTTPCORE_EQUIVALENTS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.RemoteProtocolError),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),
    (aiohttp.ClientConnectionResetError, httpx.WriteError),
    (aiohttp.ClientOSError, httpx.ReadError),
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.ClientError, httpx.NetworkError),
)


def httpcore_equivalent(error: BaseException) -> httpx.TransportError | None:
    """The exception httpcore would raise for this aiohttp failure, or None if not aiohttp's."""
    for aiohttp_type, httpx_type in HTTPCORE_EQUIVALENTS:
        if isinstance(error, aiohttp_type):
            return httpx_type(str(error) or type(error).__name__)
    return None


@contextmanager
def httpcore_errors() -> Iterator[None]:
    """Re-raise aiohttp's failures (bare, or as httpx-aiohttp mapped them) as httpcore's."""
    try:
        yield
    except (httpx.TransportError, aiohttp.ClientError) as error:
        original = error.__cause__ if isinstance(error, httpx.TransportError) else error
        equivalent = httpcore_equivalent(original) if original is not None else None
        if equivalent is None:
            raise
        raise equivalent from original


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream) -> None:
        self._inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with httpcore_errors():
            async for chunk in self._inner:
                yield chunk

    async def aclose(self) -> None:
        with httpcore_errors():
            await self._inner.aclose()


class AiohttpTransport(httpx_aiohttp.AiohttpTransport):
    """httpx-aiohttp's transport (redirects never followed), failing as httpcore does."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        with httpcore_errors():
            response = await super().handle_async_request(request)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _ResponseStream(response.stream)
        return response
