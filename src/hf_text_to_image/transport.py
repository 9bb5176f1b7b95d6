"""The HTTP client's transport: httpx's API over aiohttp's connections.

httpx-aiohttp moves bytes with aiohttp, at a fraction of httpcore's CPU per request (README,
Performance). Its failures are put back into the exceptions httpcore raises, which the rest
of the service tells apart: httpx-aiohttp reports a refused connection and a connection
dropped before the answer both as `ConnectTimeout`, and lets some aiohttp errors through.
"""

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import aiohttp
import httpx
import httpx_aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from httpx_aiohttp.transport import AiohttpResponseStream

from .outbound import ConnectPolicy, Resolver, parse_ip

DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)
# httpx-aiohttp reads a body 16 KB at a time: a 4 MB answer went through ~256 rounds of
# aiohttp, httpx and the size cap, ~10 ms on the event loop. Whatever the socket has
# buffered, up to asyncio's own read size, comes at once instead (~16 rounds).
READ_CHUNK_BYTES = 256 * 1024

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
    """The body's stream, with httpcore's exceptions; it frees its response when closed.

    httpx binds a response and its stream to each other (`Response.stream` holds a stream
    that holds the response): a reference cycle. Left so, every response, with its request,
    headers and aiohttp's own objects, waited for the cyclic collector: ~800 objects a
    collection, 1-4 ms of the event loop each time. Closing the stream breaks the cycle,
    so they go as soon as the last reference does.
    """

    def __init__(self, inner: httpx.AsyncByteStream, response: httpx.Response) -> None:
        self._inner = inner
        self._response: httpx.Response | None = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with httpcore_errors():
            async for chunk in self._inner:
                yield chunk

    async def aclose(self) -> None:
        try:
            with httpcore_errors():
                await self._inner.aclose()
        finally:
            response, self._response = self._response, None
            if response is not None:
                response.stream = httpx.ByteStream(b"")


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver: one look-up with a timeout, every address checked, only those used.

    A connection's addresses come from here and nowhere else, so the addresses checked are
    the addresses connected to: a name that answers a public address to one look-up and a
    private one to the next (DNS rebinding) cannot slip past the check.
    """

    def __init__(self, policy: ConnectPolicy, resolve: Resolver, *, timeout: float) -> None:
        self._policy = policy
        self._resolve = resolve
        self._timeout = timeout

    @property
    def policy(self) -> ConnectPolicy:
        return self._policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            async with asyncio.timeout(self._timeout):
                texts = await self._resolve(host, port)
        except TimeoutError as error:
            raise socket.gaierror(
                socket.EAI_AGAIN, f"looking up {host} took longer than {self._timeout:g} s"
            ) from error
        results: list[ResolveResult] = []
        for text in texts:
            address = ipaddress.ip_address(text.split("%")[0])
            # Any refused address refuses the name: it is pointed where it may not go.
            self._policy.check(host, address)
            address_family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
            if family in (socket.AF_UNSPEC, address_family):
                results.append(
                    ResolveResult(
                        hostname=host,
                        host=text,
                        port=port,
                        family=address_family,
                        proto=0,
                        flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
                    )
                )
        if not results:
            raise socket.gaierror(socket.EAI_NONAME, f"{host} has no address to connect to")
        return results

    def check_literal(self, host: str) -> None:
        """aiohttp connects to an address literal without asking the resolver: check it here."""
        address = parse_ip(host)
        if address is not None:
            self._policy.check(host, address)

    async def close(self) -> None:
        """Nothing to release: the look-ups run on the loop's own resolver."""


class AiohttpTransport(httpx_aiohttp.AiohttpTransport):
    """httpx-aiohttp's transport (redirects never followed), failing as httpcore does.

    With a `GuardedResolver`, every connection it opens goes through it (address literals
    included), so the outbound policy holds at connect time on every request.
    """

    def __init__(
        self,
        *,
        limits: httpx.Limits | None = None,
        resolver: GuardedResolver | None = None,
    ) -> None:
        super().__init__(
            limits=limits or DEFAULT_LIMITS, client=self._new_session if resolver else None
        )
        self._resolver = resolver

    def _new_session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            resolver=self._resolver,
            ssl=self.ssl_context,
            keepalive_timeout=self.limits.keepalive_expiry,
            limit=self.limits.max_connections or 0,
        )
        return aiohttp.ClientSession(connector=connector)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._resolver is not None:
            self._resolver.check_literal(request.url.host)
        with httpcore_errors():
            response = await super().handle_async_request(request)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        if isinstance(response.stream, AiohttpResponseStream):
            response.stream.CHUNK_SIZE = READ_CHUNK_BYTES
        response.stream = _ResponseStream(response.stream, response)
        return response
