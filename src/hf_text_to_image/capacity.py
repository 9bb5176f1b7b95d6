"""A non-blocking bound on work in progress: callers over the limit are refused, not queued."""

from collections.abc import Iterator
from contextlib import contextmanager

from .errors import ServiceBusyError


class Capacity:
    def __init__(self, limit: int, *, busy_message: str) -> None:
        self.limit = limit
        self.in_use = 0
        self._busy_message = busy_message

    @contextmanager
    def slot(self, count: int = 1) -> Iterator[None]:
        """Hold `count` units for the duration of the block, or raise ServiceBusyError at once."""
        if self.in_use + count > self.limit:
            raise ServiceBusyError(self._busy_message)
        self.in_use += count
        try:
            yield
        finally:
            self.in_use -= count
