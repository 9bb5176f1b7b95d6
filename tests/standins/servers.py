"""Serving an ASGI app with a real uvicorn server on a loopback port, in a thread."""

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn


def wait_for(condition: Callable[[], Any], *, timeout: float = 10.0, interval: float = 0.01) -> Any:
    """Poll `condition` until it is truthy; fail the test if it is not within `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def bind_loopback() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class ConnectionWitness:
    """A socket listening on loopback that tells whether anything connected to it.

    The kernel completes a TCP connection into the backlog without `accept`; a non-blocking
    `accept` then finds it, so "nothing connected" is a fact, not a guess.
    """

    def __init__(self) -> None:
        self._sock = bind_loopback()
        self._sock.listen(16)
        self._sock.setblocking(False)
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def connections(self) -> int:
        count = 0
        while True:
            try:
                accepted, _ = self._sock.accept()
            except BlockingIOError:
                return count
            accepted.close()
            count += 1

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> "ConnectionWitness":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class QuickServer(uvicorn.Server):
    """uvicorn checks for a stop every 100 ms and waits 100 ms steps to shut down; tests start
    and stop hundreds of servers, so both wait on the condition itself, in 10 ms steps."""

    async def main_loop(self) -> None:
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            await asyncio.sleep(0.01)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's graceful shutdown, ending as soon as no connection or task is left."""
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        # Idle connections close at once; a connection mid-response closes after it.
        for connection in list(self.server_state.connections):
            connection.shutdown()
        deadline = time.monotonic() + self.config.timeout_graceful_shutdown
        state = self.server_state
        while (state.connections or state.tasks) and not self.force_exit:
            if time.monotonic() > deadline:
                for task in state.tasks:
                    task.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")
                break
            await asyncio.sleep(0.01)
        else:
            for server in self.servers:
                await server.wait_closed()
        if not self.force_exit:
            await self.lifespan.shutdown()


class UvicornThread:
    """A uvicorn server on an already bound loopback socket; `url` is known before start."""

    def __init__(self, app: Any, sock: socket.socket | None = None) -> None:
        self.socket = sock or bind_loopback()
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        config = uvicorn.Config(
            app, log_level="warning", lifespan="on", timeout_graceful_shutdown=30
        )
        self.server = QuickServer(config)
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        self.server.run(sockets=[self.socket])

    def start(self) -> "UvicornThread":
        self._thread.start()
        wait_for(lambda: self.server.started or not self._thread.is_alive(), timeout=20)
        if not self.server.started:
            raise RuntimeError("the server did not start")
        return self

    def request_stop(self) -> None:
        self.server.should_exit = True

    def stop(self) -> None:
        self.request_stop()
        self._thread.join(timeout=60)
        self.socket.close()

    def __enter__(self) -> "UvicornThread":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
