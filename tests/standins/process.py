"""The service as a real uvicorn process, the way it runs in production."""

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from .servers import bind_loopback, wait_for

REPOSITORY = Path(__file__).resolve().parents[2]


class ServiceProcess:
    """`uvicorn main:app --app-dir src` in its own process, configured through the environment."""

    def __init__(self, settings: dict[str, Any]) -> None:
        with bind_loopback() as sock:
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "SERVICE_URL": self.url,
            **{name.upper(): str(value) for name, value in settings.items()},
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> "ServiceProcess":
        return self.spawn().ready()

    def spawn(self) -> "ServiceProcess":
        """Start the process without waiting for it (several start faster side by side)."""
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
            str(self.port),
            "--log-level",
            "warning",
        ]
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command,
            cwd=REPOSITORY,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        return self

    def ready(self) -> "ServiceProcess":
        wait_for(self._answers, timeout=30, interval=0.05)
        return self

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"the service exited: {self.process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        try:
            return httpx.get(f"{self.url}/status", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def rss_kib(self) -> int:
        """Resident memory of the process now, in KiB, from /proc."""
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def terminate(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()
