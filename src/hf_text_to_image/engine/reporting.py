"""Delivering a task's one final report to the engine, with bounded retries."""

import logging
from collections.abc import Awaitable, Callable

import httpx

from ..errors import ForbiddenTargetError
from ..pacing import Pacing, backoff_delay
from .models import TaskStatus, TaskUpdate, parse_http_url

logger = logging.getLogger(__name__)

# 0.5 s, 1 s, 2 s ... up to 15 s between attempts (before jitter).
FIRST_REPORT_BACKOFF = 0.5
MAX_REPORT_BACKOFF = 15.0


def report_backoff(attempt: int, jitter: float) -> float:
    return backoff_delay(attempt, first=FIRST_REPORT_BACKOFF, cap=MAX_REPORT_BACKOFF, jitter=jitter)


def is_retryable_answer(status: int) -> bool:
    return status >= 500 or status in (408, 429)


class Reporter:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        timeout: float,
        budget: float,
        pacing: Pacing,
    ) -> None:
        self._http = http
        self._timeout = timeout
        self.budget = budget
        self._pacing = pacing

    async def report(
        self,
        task_id: str,
        callback_url: str,
        update: TaskUpdate,
        *,
        budget: float | None = None,
        before_retry: Callable[[], Awaitable[bool]] | None = None,
    ) -> bool:
        """PATCH the update until the engine takes it or the budget runs out; never raises.

        `before_retry`: asked before each attempt after the first; False stops the retries
        (the task is no longer this worker's to report).
        """
        deadline = self._pacing.clock() + (self.budget if budget is None else budget)
        body = update.model_dump(mode="json")
        attempt = 0
        while True:
            attempt += 1
            outcome = await self._send_once(callback_url, body)
            if outcome is None:
                logger.info(
                    "task %s: reported %s (attempt %d)", task_id, update.status.value, attempt
                )
                return True
            retryable, reason = outcome
            delay = report_backoff(attempt, self._pacing.jitter())
            if not retryable or self._pacing.clock() + delay > deadline:
                logger.error(
                    "task %s: the %s report was not delivered after %d attempt(s): %s",
                    task_id,
                    update.status.value,
                    attempt,
                    reason,
                )
                return False
            logger.warning(
                "task %s: report attempt %d failed (%s); retrying", task_id, attempt, reason
            )
            await self._pacing.sleep(delay)
            if before_retry is not None and not await before_retry():
                logger.warning("task %s: report retries stopped: no longer ours to send", task_id)
                return False

    async def engine_status(self, callback_url: str) -> TaskStatus | None:
        """The task's status as the engine shows it (`GET` on the callback URL, the engine's
        `/tasks/{id}`); None when the engine does not say."""
        try:
            response = await self._http.get(callback_url, timeout=self._timeout)
            status = response.json().get("status") if response.is_success else None
            return TaskStatus(status) if status else None
        except (httpx.HTTPError, ValueError, AttributeError):
            return None

    async def _send_once(
        self, callback_url: str, body: dict[str, object]
    ) -> tuple[bool, str] | None:
        """None when delivered, else (worth retrying, why not)."""
        try:
            parse_http_url(callback_url)
        except ValueError as error:
            return False, f"the callback URL {error}"
        try:
            response = await self._http.patch(callback_url, json=body, timeout=self._timeout)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as error:
            # The URL itself is wrong: no retry can fix it.
            return False, f"the callback URL cannot be used ({type(error).__name__})"
        except ForbiddenTargetError as error:
            return False, error.message
        except httpx.HTTPError as error:
            return True, type(error).__name__
        if response.is_success:
            return None
        return is_retryable_answer(
            response.status_code
        ), f"the engine answered {response.status_code}"
