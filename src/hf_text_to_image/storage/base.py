"""What the pipeline needs from a task's storage."""

from typing import Protocol


class TaskStorage(Protocol):
    async def get(self, key: str, *, max_bytes: int) -> bytes:
        """The bytes stored under `key`, or StorageError (also past `max_bytes`)."""

    async def put(self, data: bytes, *, filename: str, content_type: str) -> str:
        """Store `data`; return the key the engine will know it by, or StorageError."""
