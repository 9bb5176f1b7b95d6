"""The child processes the benchmark starts, read from /proc and always stopped again."""

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx

REPOSITORY = Path(__file__).resolve().parents[1]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
STOP_TIMEOUT = 20.0


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ChildProcess:
    """One child in a session of its own, its output in a log file; `stop()` is idempotent."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log_path: Path):
        self.name = name
        self._command = command
        self._env = env
        self.log_path = log_path
        self._log: IO[bytes] | None = None
        self._popen: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    @property
    def pid(self) -> int:
        assert self._popen is not None, f"{self.name} was not started"
        return self._popen.pid

    def start(self) -> None:
        self._log = self.log_path.open("wb")
        self.started_at = time.monotonic()
        self._popen = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
            self._command,
            cwd=REPOSITORY,
            env=self._env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C reaches the driver only; it stops the children
        )

    async def wait_until_answering(
        self, client: httpx.AsyncClient, url: str, within_seconds: float
    ) -> float:
        """Poll `url` every 10 ms until it answers 200; the seconds since the process started."""
        deadline = time.monotonic() + within_seconds
        while time.monotonic() < deadline:
            if self._popen is not None and self._popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log_path}")
            try:
                if (await client.get(url, timeout=1.0)).status_code == 200:
                    return time.monotonic() - self.started_at
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.01)
        raise RuntimeError(f"{self.name} did not answer {url} within {within_seconds:g} s")

    def cpu_seconds(self) -> float:
        """User plus system CPU time so far (utime + stime of /proc/<pid>/stat)."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def memory_kib(self, key: str) -> int:
        """A line of /proc/<pid>/status in KiB: `VmRSS` (now) or `VmHWM` (peak)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
        raise RuntimeError(f"no {key} for {self.name}")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after STOP_TIMEOUT seconds; safe to call more than once."""
        if self._popen is not None and self._popen.poll() is None:
            self._popen.send_signal(signal.SIGTERM)
            try:
                self._popen.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._popen.kill()
                self._popen.wait(timeout=STOP_TIMEOUT)
        if self._log is not None:
            self._log.close()
            self._log = None


def standins_process(port: int, log_dir: Path) -> ChildProcess:
    command = [sys.executable, "-m", "benchmarks.standins", "--port", str(port)]
    return ChildProcess("stand-ins", command, dict(os.environ), log_dir / "standins.log")


def object_store_process(port: int, log_dir: Path) -> ChildProcess:
    """moto's S3 alone: the engine's bucket for the `s3_*` form, the real S3 protocol."""
    command = [sys.executable, "-m", "benchmarks.objectstore_server", "--port", str(port)]
    return ChildProcess("object store (moto)", command, dict(os.environ), log_dir / "moto.log")


def redis_process(port: int, directory: Path, log_dir: Path) -> ChildProcess:
    """Debian's redis-server as the manifests run it: every write fsynced to its AOF."""
    redis_server = shutil.which("redis-server") or "redis-server"
    command = [
        redis_server,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--dir",
        str(directory),
    ]
    return ChildProcess("redis-server", command, dict(os.environ), log_dir / "redis.log")


def service_process(
    port: int,
    standins_url: str,
    object_store_url: str,
    *,
    concurrency: int,
    max_tasks: int,
    log_dir: Path,
    extra: dict[str, str] | None = None,
) -> ChildProcess:
    """`python -m uvicorn main:app --app-dir src`, configured through the environment only."""
    settings = {
        "OUTBOUND_ALLOWED_HOSTS": '["127.0.0.1"]',
        "OUTBOUND_ALLOWED_NETWORKS": '["127.0.0.0/8"]',
        "OUTBOUND_ALLOWED_SCHEMES": '["http","https"]',
        "HF_MODEL_BASE_URL": f"{standins_url}/models/",
        "MAX_CONCURRENT_TASKS": str(concurrency),
        "MAX_TASKS": str(max_tasks),
        "LOG_LEVEL": "WARNING",
        "ENGINE_URLS": "[]",
        # The stand-ins are the engine: its callback and storage, and its bucket for s3_host.
        "TRUSTED_ENGINE_ORIGINS": json.dumps([standins_url]),
        "TRUSTED_S3_ORIGINS": json.dumps([object_store_url]),
        "SERVICE_URL": f"http://127.0.0.1:{port}",
        "SHUTDOWN_GRACE_SECONDS": "5",
        # The event loop's worst stalls, read from /metrics around each run.
        "LOOP_LAG_PROBE": "true",
        **(extra or {}),
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "main:app",
        "--app-dir",
        "src",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    log_path = log_dir / f"service-c{concurrency}-{port}.log"
    return ChildProcess(f"service (C={concurrency})", command, {**os.environ, **settings}, log_path)
