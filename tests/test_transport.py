"""The service's transport, httpx over aiohttp, against raw loopback servers: it answers as
httpx does, follows no redirect, and fails with the exception types httpcore raises."""

import asyncio
import gc
import socket
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from standins.servers import ConnectionWitness

from hf_text_to_image.errors import ForbiddenTargetError
from hf_text_to_image.outbound import ConnectPolicy, OutboundPolicy
from hf_text_to_image.transport import (
    READ_CHUNK_BYTES,
    AiohttpTransport,
    GuardedResolver,
    httpcore_equivalent,
)


@asynccontextmanager
async def raw_server(answer: bytes, *, pause: float = 0.0) -> AsyncIterator[str]:
    """A server that reads one request head, waits `pause` seconds, writes `answer`, closes."""

    handlers: set[asyncio.Task[None]] = set()

    async def answer_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            await asyncio.sleep(pause)
            writer.write(answer)
            await writer.drain()
        finally:
            writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handler = asyncio.current_task()
        assert handler is not None
        handlers.add(handler)
        try:
            await answer_once(reader, writer)
        finally:
            handlers.discard(handler)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        async with server:
            yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        for handler in list(handlers):  # a client that gave up leaves its handler waiting
            handler.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)


@asynccontextmanager
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=AiohttpTransport(), timeout=5) as http:
        yield http


@pytest.mark.anyio
async def test_answer_streams_as_with_httpx() -> None:
    body = b"x" * 100_000
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nX-Request-Id: r1\r\n\r\n"
    async with (
        raw_server(head.encode() + body) as url,
        client() as http,
        http.stream("POST", url, content=b"{}") as response,
    ):
        received = b"".join([chunk async for chunk in response.aiter_bytes()])
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "r1"
    assert received == body


@pytest.mark.anyio
async def test_a_closed_response_is_freed_without_the_cyclic_collector() -> None:
    body = b"x" * 1000
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n"
    gc.collect()
    gc.disable()  # what is freed now is freed by reference counting alone
    try:
        async with raw_server(head.encode() + body) as url, client() as http:
            async with http.stream("GET", url) as response:
                await response.aread()
            streamed = weakref.ref(response)
            read = weakref.ref(await http.get(url))
            del response
            assert streamed() is None
            assert read() is None
    finally:
        gc.enable()


@pytest.mark.anyio
async def test_a_large_body_comes_in_chunks_larger_than_16_kb() -> None:
    # At 16 KB a round (httpx-aiohttp's own size), a 4 MB answer cost ~10 ms of loop time.
    body = b"x" * 2_000_000
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n"
    async with (
        raw_server(head.encode() + body) as url,
        client() as http,
        http.stream("GET", url) as response,
    ):
        sizes = [len(chunk) async for chunk in response.aiter_raw()]
    assert sum(sizes) == len(body)
    assert max(sizes) > 16 * 1024
    assert max(sizes) <= READ_CHUNK_BYTES


@pytest.mark.anyio
async def test_redirect_is_answered_not_followed() -> None:
    answer = b"HTTP/1.1 302 Found\r\nLocation: http://elsewhere.test/\r\nContent-Length: 0\r\n\r\n"
    async with raw_server(answer) as url, client() as http:
        response = await http.get(url)
    assert response.status_code == 302
    assert response.headers["location"] == "http://elsewhere.test/"


@pytest.mark.anyio
async def test_refused_connection_is_connect_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with client() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{port}/")


@pytest.mark.anyio
async def test_connection_closed_before_answer_is_remote_protocol_error() -> None:
    async with raw_server(b"") as url, client() as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get(url)


@pytest.mark.anyio
async def test_body_cut_short_is_remote_protocol_error() -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10
    async with raw_server(answer) as url, client() as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get(url)


@pytest.mark.anyio
async def test_garbage_answer_is_remote_protocol_error() -> None:
    async with raw_server(b"NOT HTTP AT ALL\r\n\r\n") as url, client() as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get(url)


@pytest.mark.anyio
async def test_silence_past_the_read_timeout_is_read_timeout() -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    async with raw_server(answer, pause=2) as url, client() as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.get(url, timeout=httpx.Timeout(5, read=0.2))


def test_errors_that_are_not_aiohttps_are_left_alone() -> None:
    assert httpcore_equivalent(ValueError("no")) is None


# --- The connect-time guard ----------------------------------------------------------------

PUBLIC = "93.184.216.34"
PUBLIC_ONLY = OutboundPolicy(allowed_schemes=("http",), allowed_hosts=(), allowed_networks=())


class ScriptedDns:
    """Answers each look-up with the next scripted answer (the last one repeats)."""

    def __init__(self, *answers: list[str]) -> None:
        self._answers = list(answers)
        self.lookups: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append((host, port))
        return self._answers.pop(0) if len(self._answers) > 1 else self._answers[0]


@asynccontextmanager
async def guarded_client(
    dns: Callable[[str, int], Awaitable[list[str]]], *named: str, lookup_timeout: float = 5
) -> AsyncIterator[httpx.AsyncClient]:
    policy = ConnectPolicy(PUBLIC_ONLY, frozenset(named))
    resolver = GuardedResolver(policy, dns, timeout=lookup_timeout)
    async with httpx.AsyncClient(transport=AiohttpTransport(resolver=resolver), timeout=5) as http:
        yield http


@pytest.mark.anyio
async def test_a_name_answering_a_public_then_a_private_address_is_refused_unconnected() -> None:
    """One answer, public address first, loopback next: refused whole, nothing connected."""
    dns = ScriptedDns([PUBLIC, "127.0.0.1"])
    with ConnectionWitness() as witness:
        async with guarded_client(dns) as http:
            with pytest.raises(ForbiddenTargetError, match=r"non-public address \(127\.0\.0\.1\)"):
                await http.get(f"http://rebinding.example:{witness.port}/")
        assert witness.connections() == 0
    assert dns.lookups == [("rebinding.example", witness.port)]


@pytest.mark.anyio
async def test_the_connection_uses_the_addresses_the_guard_checked() -> None:
    """The guard's look-up is the connection's: a later answer cannot change where it goes."""
    dns = ScriptedDns(["127.0.0.1"], [PUBLIC])
    async with (
        raw_server(b"HTTP/1.1 204 No Content\r\n\r\n") as url,
        guarded_client(dns, "engine.internal") as http,
    ):
        port = httpx.URL(url).port
        response = await http.get(f"http://engine.internal:{port}/")
    assert response.status_code == 204
    assert dns.lookups == [("engine.internal", port)]


@pytest.mark.anyio
async def test_an_address_literal_is_checked_without_a_look_up() -> None:
    dns = ScriptedDns([PUBLIC])
    with ConnectionWitness() as witness:
        async with guarded_client(dns) as http:
            with pytest.raises(ForbiddenTargetError, match="non-public address"):
                await http.get(f"{witness.url}/")
        assert witness.connections() == 0
    assert dns.lookups == []


@pytest.mark.anyio
async def test_a_look_up_that_hangs_fails_at_its_timeout() -> None:
    async def silent_dns(host: str, port: int) -> list[str]:
        await asyncio.Event().wait()
        return []

    async with guarded_client(silent_dns, lookup_timeout=0.05) as http:
        with pytest.raises(httpx.ConnectError, match=r"took longer than 0\.05 s"):
            await http.get("http://slow-dns.example/")


@pytest.mark.anyio
async def test_a_name_without_addresses_is_a_connect_error() -> None:
    async with guarded_client(ScriptedDns([])) as http:
        with pytest.raises(httpx.ConnectError, match="no address"):
            await http.get("http://nothing.example/")
