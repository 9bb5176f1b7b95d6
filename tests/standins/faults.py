"""Faults to inject into the service running in a test's thread."""

import threading
from collections.abc import Awaitable, Callable
from typing import Any


def failing_once(
    original: Callable[..., Awaitable[Any]], error: Exception
) -> tuple[Callable[..., Awaitable[Any]], threading.Event]:
    """`original`, except that its first call raises `error`; the event says it has."""
    failed = threading.Event()

    async def call(*args: Any, **kwargs: Any) -> Any:
        if not failed.is_set():
            failed.set()
            raise error
        return await original(*args, **kwargs)

    return call, failed
