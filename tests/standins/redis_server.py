"""A real redis-server (Debian's package) on a free loopback port, started by the tests.

Without persistence by default (`--save '' --appendonly no`); with `durable=True` every write
goes to an append-only file fsynced before Redis answers, so that a restart keeps every
acknowledged write, as the fleet's Redis must be configured (kubernetes/redis.yml).
"""

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
import redis

from .servers import bind_loopback, wait_for

REDIS_SERVER = shutil.which("redis-server")


class RedisServer:
    def __init__(self, directory: Path, *, durable: bool = False) -> None:
        with bind_loopback() as sock:
            self.port = sock.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._directory = directory
        self._durable = durable
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> "RedisServer":
        assert REDIS_SERVER is not None
        persistence = (
            ["--appendonly", "yes", "--appendfsync", "always"]
            if self._durable
            else ["--appendonly", "no"]
        )
        self.process = subprocess.Popen(  # noqa: S603 - the system's redis-server
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                *persistence,
                "--dir",
                str(self._directory),
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._answers, timeout=10)
        return self

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {self.process.returncode}")
        try:
            with redis.Redis(port=self.port, socket_timeout=0.5) as client:
                return bool(client.ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        """SIGKILL: what a node loss or an OOM kill does (nothing is flushed on the way out)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def restart(self) -> None:
        self.kill()
        self.start()

    def client(self) -> "redis.Redis[str]":
        return redis.Redis(port=self.port, decode_responses=True, socket_timeout=2)


def queue_as_the_previous_version(
    client: "redis.Redis[str]", *, prefix: str, task_id: str, body: str | None
) -> str:
    """What the service's previous version wrote for a task: its id in the stream entry and the
    task in its hash (with `body=None`, an entry whose hash is gone). Returns the entry."""
    tag = f"{{{prefix}}}"
    entry = str(client.xadd(f"{tag}:queue", {"task": task_id}))
    if body is not None:
        client.hset(
            f"{tag}:task:{task_id}", mapping={"body": body, "status": "pending", "entry": entry}
        )
    client.sadd(f"{tag}:active", task_id)
    return entry


# The previous version's take, verbatim: the task is read from its hash, which must still name
# the entry; a stale entry is dropped.
PREVIOUS_TAKE_NEXT = """
local function take(queue, entry, task_id, task_prefix)
  local key = task_prefix .. task_id
  local values = redis.call('HMGET', key, 'body', 'entry', 'report')
  if not values[1] or values[2] ~= entry then
    redis.call('XACK', queue, 'workers', entry)
    redis.call('XDEL', queue, entry)
    return {entry, task_id, false, false}
  end
  redis.call('HSET', key, 'status', 'fetching')
  return {entry, task_id, values[1], values[3]}
end
local got = redis.call('XREADGROUP', 'GROUP', 'workers', ARGV[1], 'COUNT', 1, 'STREAMS', KEYS[1], '>')
if not got then return false end
local entry = got[1][2][1]
return take(KEYS[1], entry[1], entry[2][2], ARGV[2])
"""


def take_as_the_previous_version(
    client: "redis.Redis[str]", *, prefix: str, consumer: str
) -> list[str | None] | None:
    """What a replica of the service's previous version takes from the queue: [entry, task id,
    task (None for a stale entry, which it drops), who began the report], or None if empty."""
    tag = f"{{{prefix}}}"
    taken = client.eval(PREVIOUS_TAKE_NEXT, 1, f"{tag}:queue", consumer, f"{tag}:task:")
    return cast("list[str | None] | None", taken)


def require_redis_server() -> None:
    """Skip without redis-server on a developer's machine; CI installs it, so fail there."""
    if REDIS_SERVER is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is missing: .ci/run installs Debian's redis-server")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    require_redis_server()
    server = RedisServer(tmp_path).start()
    yield server
    server.kill()


@pytest.fixture
def durable_redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    require_redis_server()
    server = RedisServer(tmp_path, durable=True).start()
    yield server
    server.kill()
