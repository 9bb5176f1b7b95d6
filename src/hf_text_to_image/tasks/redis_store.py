"""The task store of a fleet: one Redis stream every replica's workers consume.

Layout (every key under one hash tag, so that a Redis Cluster keeps them on one slot):

- `{prefix}:queue`: a stream with one entry per unfinished task (`task` = its id, `body` =
  the ServiceTask with its S3 secret) and the consumer group `workers`. An entry is delivered
  to one worker; it stays in that worker's pending list until the task is done, then it is
  acknowledged and deleted, so the stream's length is the fleet's number of unfinished tasks
  (what KEDA scales on), and the secret leaves Redis with the entry.
- `{prefix}:task:{id}`: a hash with `status`, `entry` (its stream entry, while the task
  lives) and `report` (who sends the final report, then `done`). Once done the hash keeps
  only the status, for TASK_RETENTION_SECONDS. A `pending` task whose entry was delivered
  is `fetching`: taking a task is one read, with no write of its own.
  The version before kept the task in the hash (`body`) and only its id in the entry. Both
  ways work during a rolling update: such an entry is run from the hash (one more round
  trip), and submitting or handing back also writes `body` to the hash (same script), so
  that a replica of the version before runs the task too; `body` leaves the hash with the
  entry.
- `{prefix}:active`: the ids of unfinished tasks (MAX_TASKS bounds the fleet with it).
- `{prefix}:finished`: finished ids by time, to keep at most MAX_FINISHED_TASKS of them.
- `{prefix}:replicas`: the live replicas, each with the time its lease runs out.

A worker renews the lease of what it runs (XCLAIM by its owner resets the entry's idle
time). An entry idle longer than the lease belongs to a replica that died: another replica
takes it over with XAUTOCLAIM and runs it again. The report marker is set by a script that
checks the caller still owns the entry, so two replicas never both report.
"""

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar, cast

from pydantic import SecretStr
from redis.asyncio import Redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError, ResponseError
from redis.maint_notifications import MaintNotificationsConfig
from redis.retry import Retry

from ..engine.models import ServiceTask, TaskStatus
from ..errors import ServiceBusyError
from ..supervision import spawn
from .store import (
    FULL_MESSAGE,
    SHUTTING_DOWN_MESSAGE,
    TaskCounts,
    TaskRecord,
    TaskStoreUnavailableError,
)

logger = logging.getLogger(__name__)

GROUP = "workers"
UNREACHABLE_MESSAGE = "The service's task store (Redis) cannot be reached; submit again shortly."
# How long one blocking read waits for a new entry before the worker looks again.
READ_BLOCK_SECONDS = 1.0
# Consumers (replicas) that own nothing and were idle this many leases are removed.
FORGET_CONSUMER_LEASES = 20

T = TypeVar("T")

SUBMIT = """
-- KEYS: active, queue, task hash, finished. ARGV: id, body, max_tasks.
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 0 end
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[3]) then return -1 end
local entry = redis.call('XADD', KEYS[2], '*', 'task', ARGV[1], 'body', ARGV[2])
redis.call('DEL', KEYS[3])
-- `body` in the hash too: what a replica of the version before takes the task from.
redis.call('HSET', KEYS[3], 'body', ARGV[2], 'status', 'pending', 'entry', entry)
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
return 1
"""

SET_STATUS = """
-- KEYS: task hash. ARGV: status. Only while the task lives (never revives a finished one).
if redis.call('HEXISTS', KEYS[1], 'entry') == 1 then
  redis.call('HSET', KEYS[1], 'status', ARGV[1])
end
return 0
"""

STATUS_OF = """
-- KEYS: task hash, queue. A pending task whose entry was delivered is being fetched.
local values = redis.call('HMGET', KEYS[1], 'status', 'entry')
if values[1] == 'pending' and values[2] then
  if #redis.call('XPENDING', KEYS[2], 'workers', values[2], values[2], 1) > 0 then
    return 'fetching'
  end
end
return values[1]
"""

TAKE_OLD = """
-- KEYS: task hash, queue. ARGV: entry. A new entry of the previous layout (only the id): the
-- task is in the hash. Returns {body, who began the report}; a stale entry, or one whose
-- hash holds no task, is dropped (false).
local values = redis.call('HMGET', KEYS[1], 'body', 'entry', 'report')
if not values[1] or values[2] ~= ARGV[1] then
  redis.call('XACK', KEYS[2], 'workers', ARGV[1])
  redis.call('XDEL', KEYS[2], ARGV[1])
  return false
end
return {values[1], values[3] or ''}
"""

TAKE_OVER = """
-- KEYS: task hash, queue. ARGV: entry, consumer. An entry this consumer just claimed: a stale
-- one (the task ended or was handed back meanwhile) is dropped; else the task is `fetching`
-- again. Returns {deliveries, who began the report, the task if the hash holds it (the
-- previous layout)} or false.
local values = redis.call('HMGET', KEYS[1], 'entry', 'report', 'body')
if values[1] ~= ARGV[1] then
  redis.call('XACK', KEYS[2], 'workers', ARGV[1])
  redis.call('XDEL', KEYS[2], ARGV[1])
  return false
end
redis.call('HSET', KEYS[1], 'status', 'fetching')
local pending = redis.call('XPENDING', KEYS[2], 'workers', ARGV[1], ARGV[1], 1, ARGV[2])
local deliveries = 1
if #pending > 0 then deliveries = pending[1][4] end
return {deliveries, values[2] or '', values[3] or ''}
"""

# Claiming the report and confirming it before each retry both reset the entry's idle time:
# no replica can take the task over for a lease from then on, longer than one attempt takes
# (ENGINE_REQUEST_TIMEOUT < TASK_LEASE_SECONDS).
CLAIM_REPORT = """
-- KEYS: task hash, queue. ARGV: entry, consumer, final status. Only the entry's owner may
-- report; the task shows its final status from then on.
local owned = redis.call('XPENDING', KEYS[2], 'workers', ARGV[1], ARGV[1], 1, ARGV[2])
if #owned == 0 then return 0 end
local values = redis.call('HMGET', KEYS[1], 'entry', 'report')
if values[1] ~= ARGV[1] or values[2] == 'done' then return 0 end
redis.call('HSET', KEYS[1], 'report', ARGV[2], 'status', ARGV[3])
redis.call('XCLAIM', KEYS[2], 'workers', ARGV[2], 0, ARGV[1], 'JUSTID')
return 1
"""

STILL_HOLDS = """
-- KEYS: task hash, queue. ARGV: entry, consumer. The entry and the report marker still ours.
local owned = redis.call('XPENDING', KEYS[2], 'workers', ARGV[1], ARGV[1], 1, ARGV[2])
if #owned == 0 then return 0 end
local values = redis.call('HMGET', KEYS[1], 'entry', 'report')
if values[1] ~= ARGV[1] or values[2] ~= ARGV[2] then return 0 end
redis.call('XCLAIM', KEYS[2], 'workers', ARGV[2], 0, ARGV[1], 'JUSTID')
return 1
"""

RELEASE = """
-- KEYS: task hash, queue, active, finished. ARGV: entry, id, status, retention s, max finished,
-- key prefix of task hashes, consumer. Only by the entry's owner (a replica that lost the task
-- leaves it to the one that took it over).
local owned = redis.call('XPENDING', KEYS[2], 'workers', ARGV[1], ARGV[1], 1, ARGV[7])
if #owned == 0 or redis.call('HGET', KEYS[1], 'entry') ~= ARGV[1] then return 0 end
redis.call('XACK', KEYS[2], 'workers', ARGV[1])
redis.call('XDEL', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[2])
redis.call('HDEL', KEYS[1], 'entry', 'body')
redis.call('HSET', KEYS[1], 'status', ARGV[3], 'report', 'done')
local retention = tonumber(ARGV[4])
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now_ms - retention * 1000)
if retention <= 0 or tonumber(ARGV[5]) <= 0 then
  redis.call('DEL', KEYS[1])
  return 1
end
redis.call('EXPIRE', KEYS[1], math.ceil(retention))
redis.call('ZADD', KEYS[4], now_ms, ARGV[2])
local excess = redis.call('ZCARD', KEYS[4]) - tonumber(ARGV[5])
if excess > 0 then
  for _, old in ipairs(redis.call('ZRANGE', KEYS[4], 0, excess - 1)) do
    redis.call('DEL', ARGV[6] .. old)
  end
  redis.call('ZREMRANGEBYRANK', KEYS[4], 0, excess - 1)
end
return 1
"""

HAND_BACK = """
-- KEYS: task hash, queue. ARGV: entry, id, consumer, body. A new entry, at once for any replica.
local owned = redis.call('XPENDING', KEYS[2], 'workers', ARGV[1], ARGV[1], 1, ARGV[3])
if #owned == 0 then return 0 end
local values = redis.call('HMGET', KEYS[1], 'entry', 'report')
if values[1] ~= ARGV[1] or values[2] then return 0 end
redis.call('XACK', KEYS[2], 'workers', ARGV[1])
redis.call('XDEL', KEYS[2], ARGV[1])
local entry = redis.call('XADD', KEYS[2], '*', 'task', ARGV[2], 'body', ARGV[4])
-- As SUBMIT: `body` for a replica of the version before.
redis.call('HSET', KEYS[1], 'body', ARGV[4], 'entry', entry, 'status', 'pending')
return 1
"""

RENEW = """
-- KEYS: queue, replicas. ARGV: consumer, replica lease ms, entries...
-- Resets the idle time of the entries the consumer still owns; returns those it lost.
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZADD', KEYS[2], now_ms + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now_ms)
local lost = {}
for i = 3, #ARGV do
  local owned = redis.call('XPENDING', KEYS[1], 'workers', ARGV[i], ARGV[i], 1, ARGV[1])
  if #owned == 0 then
    table.insert(lost, ARGV[i])
  else
    redis.call('XCLAIM', KEYS[1], 'workers', ARGV[1], 0, ARGV[i], 'JUSTID')
  end
end
return lost
"""

OTHER_REPLICAS = """
-- KEYS: replicas. ARGV: consumer. Live replicas other than the caller.
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local live = redis.call('ZCOUNT', KEYS[1], '(' .. now_ms, '+inf')
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  local mine = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]))
  if mine > now_ms then live = live - 1 end
end
return live
"""


def queue_key(prefix: str) -> str:
    """The stream of unfinished tasks (what KEDA's redis-streams trigger watches)."""
    return f"{{{prefix}}}:queue"


def consumer_name() -> str:
    """Unique per process start: a restarted pod never inherits what its predecessor held."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def dump_task(service_task: ServiceTask) -> str:
    """The ServiceTask as the engine sent it, secrets included (kept only while it lives)."""
    document = service_task.model_dump(mode="json")
    secret = service_task.s3_secret_access_key
    document["s3_secret_access_key"] = secret.get_secret_value() if secret else None
    return json.dumps(document, separators=(",", ":"))


def load_task(body: str) -> ServiceTask:
    document = json.loads(body)
    if document.get("s3_secret_access_key") is not None:
        document["s3_secret_access_key"] = SecretStr(document["s3_secret_access_key"])
    return ServiceTask.model_validate(document)


def connect(url: SecretStr, *, timeout: float) -> "Redis":
    """A client whose every call ends within about twice `timeout` (one retry on reconnect).

    A new connection says only HELLO and its name: no CLIENT SETINFO and no CLIENT
    MAINT_NOTIFICATIONS, which Redis before 7.2 and 8 refuses, three errors per connection.
    """
    return Redis.from_url(
        url.get_secret_value(),
        decode_responses=True,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=1),
        health_check_interval=30,
        client_name="hugging-face-text-to-image",
        driver_info=None,
        maint_notifications_config=MaintNotificationsConfig(enabled=False),
    )


class RedisTaskStore:
    """The fleet's tasks in Redis; see the module docstring for the layout."""

    shared = True

    def __init__(
        self,
        redis: "Redis",
        *,
        prefix: str,
        max_tasks: int,
        retention_seconds: float,
        max_finished: int,
        lease_seconds: float,
        timeout: float,
        consumer: str | None = None,
    ) -> None:
        self._redis = redis
        self._timeout = timeout
        self.max_tasks = max_tasks
        self._retention = retention_seconds
        self._max_finished = max_finished
        self._lease = lease_seconds
        self.consumer = consumer or consumer_name()
        tag = f"{{{prefix}}}"
        self._queue = queue_key(prefix)
        self._active = f"{tag}:active"
        self._finished = f"{tag}:finished"
        self._replicas = f"{tag}:replicas"
        self._task_prefix = f"{tag}:task:"
        self._submit = redis.register_script(SUBMIT)
        self._set_status = redis.register_script(SET_STATUS)
        self._status_of = redis.register_script(STATUS_OF)
        self._claim_report = redis.register_script(CLAIM_REPORT)
        self._still_holds = redis.register_script(STILL_HOLDS)
        self._take_old = redis.register_script(TAKE_OLD)
        self._take_over_entry = redis.register_script(TAKE_OVER)
        self._release = redis.register_script(RELEASE)
        self._hand_back = redis.register_script(HAND_BACK)
        self._renew = redis.register_script(RENEW)
        self._other_replicas = redis.register_script(OTHER_REPLICAS)
        self._accepting = True
        # What this replica's workers run: id -> record (its lease is renewed while held).
        self._held: dict[str, TaskRecord] = {}
        self._queued = 0
        self._autoclaim_cursor = "0-0"
        self._next_takeover_check = 0.0
        self._upkeep: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()
        self._gone = asyncio.Event()  # aclose(): nothing of this replica is left to renew

    # -- the interface -------------------------------------------------------------------

    @property
    def accepting(self) -> bool:
        return self._accepting

    @property
    def queued_count(self) -> int:
        return self._queued

    async def start(self) -> None:
        try:
            await self._call(self._ensure_group())
            await self._call(self._renew_leases())
        except TaskStoreUnavailableError:
            logger.warning("the task store cannot be reached yet; retrying in the background")
        self._upkeep = spawn("task store upkeep", self._keep_up())

    async def aclose(self) -> None:
        self._closed.set()
        self._gone.set()
        if self._upkeep is not None:
            self._upkeep.cancel()
            await asyncio.gather(self._upkeep, return_exceptions=True)
        try:
            await self._call(self._redis.zrem(self._replicas, self.consumer))
            await self._call(self._forget_self())
        except TaskStoreUnavailableError:
            logger.warning("could not remove this replica from the task store")
        await self._redis.aclose()

    async def submit(self, service_task: ServiceTask) -> bool:
        if not self._accepting:
            raise ServiceBusyError(SHUTTING_DOWN_MESSAGE)
        task_id = service_task.task.id
        outcome = await self._call(
            self._submit(
                keys=[self._active, self._queue, self._task_key(task_id), self._finished],
                args=[task_id, dump_task(service_task), self.max_tasks],
            )
        )
        if outcome == -1:
            raise ServiceBusyError(FULL_MESSAGE.format(max_tasks=self.max_tasks))
        return bool(outcome == 1)

    async def next(self) -> TaskRecord | None:
        """Take over an orphaned task if there is one, else wait for a new one."""
        while not self._closed.is_set():
            try:
                record = await self._take_over() or await self._read_new()
            except TaskStoreUnavailableError:
                await self._pause()
                continue
            if record is not None:
                self._held[record.id] = record
                return record
        return None

    async def set_status(self, record: TaskRecord, status: TaskStatus) -> None:
        """`fetching` comes with taking the task and the final status with the report marker;
        the steps between are written as they come."""
        if record.status == status:
            return
        record.status = status
        try:
            await self._call(self._set_status(keys=[self._task_key(record.id)], args=[status]))
        except TaskStoreUnavailableError:
            logger.debug("task %s: status %s not recorded (store unreachable)", record.id, status)

    async def status_of(self, task_id: str) -> TaskStatus | None:
        held = self._held.get(task_id)
        if held is not None:
            return held.status  # run here: known here, Redis or not
        status = await self._call(self._status_of(keys=[self._task_key(task_id), self._queue]))
        return TaskStatus(str(status)) if status else None

    async def counts(self) -> TaskCounts:
        active = await self._call(self._redis.scard(self._active))
        return TaskCounts(active=int(active), max_tasks=self.max_tasks)

    async def claim_report(self, record: TaskRecord, status: TaskStatus) -> bool:
        """Retried while the store is away: without the marker no report may be sent."""
        outcome = await self._retry(
            lambda: self._claim_report(
                keys=[self._task_key(record.id), self._queue],
                args=[record.entry, self.consumer, status],
            ),
            what=f"task {record.id}: claiming the report",
        )
        if outcome != 1:
            self._held.pop(record.id, None)
            logger.info("task %s: another replica took it over; not reporting it here", record.id)
            return False
        record.status = status
        return True

    async def still_holds(self, record: TaskRecord) -> bool:
        """Unsure (the store is away) counts as no: the lease then runs out and another
        replica, finding the report marker, asks the engine before it reports."""
        try:
            held = await self._call(
                self._still_holds(
                    keys=[self._task_key(record.id), self._queue],
                    args=[record.entry, self.consumer],
                )
            )
        except TaskStoreUnavailableError:
            held = 0
        if held != 1:
            self._held.pop(record.id, None)  # renewed no more: the fleet takes it after a lease
            return False
        return True

    async def release(self, record: TaskRecord, final_status: TaskStatus) -> None:
        """Retried while the store is away; a replica that takes the task over later finds
        the report marker and asks the engine before reporting again."""
        try:
            await self._retry(
                lambda: self._release(
                    keys=[self._task_key(record.id), self._queue, self._active, self._finished],
                    args=[
                        record.entry,
                        record.id,
                        final_status,
                        self._retention,
                        self._max_finished,
                        self._task_prefix,
                        self.consumer,
                    ],
                ),
                what=f"task {record.id}: recording its end",
            )
        finally:
            self._held.pop(record.id, None)

    async def hand_back(self, record: TaskRecord) -> bool:
        try:
            outcome = await self._call(
                self._hand_back(
                    keys=[self._task_key(record.id), self._queue],
                    args=[record.entry, record.id, self.consumer, dump_task(record.service_task)],
                )
            )
        except TaskStoreUnavailableError:
            # Still ours in the stream: another replica takes it over once the lease ends.
            outcome = 0
        self._held.pop(record.id, None)
        if outcome == 1:
            logger.info("task %s: left to the other replicas", record.id)
        return bool(outcome == 1)

    async def close(self) -> list[TaskRecord]:
        """Stop taking tasks: the queued ones stay in the stream for the other replicas."""
        self._accepting = False
        self._closed.set()
        return []

    async def other_replicas(self) -> int:
        try:
            live = await self._call(
                self._other_replicas(keys=[self._replicas], args=[self.consumer])
            )
        except TaskStoreUnavailableError:
            # Unknown: say none, so that a lone replica's engines are still told it sleeps.
            return 0
        return int(live)

    # -- inside --------------------------------------------------------------------------

    def _task_key(self, task_id: str) -> str:
        return f"{self._task_prefix}{task_id}"

    async def _call(self, command: Awaitable[T]) -> T:
        """Every call ends within the client's timeouts; any failure is one error type."""
        try:
            return await command
        except ResponseError as error:
            if "NOGROUP" in str(error):
                # Redis lost its data (restarted without persistence): start the group again.
                with contextlib.suppress(RedisError, OSError):
                    await self._ensure_group()
            raise TaskStoreUnavailableError(UNREACHABLE_MESSAGE) from error
        except (RedisError, OSError) as error:
            raise TaskStoreUnavailableError(UNREACHABLE_MESSAGE) from error

    async def _retry(self, command: Callable[[], Awaitable[T]], *, what: str) -> T:
        """Call until the store answers; once shutting down, give up (the lease takes over)."""
        while True:
            try:
                return await self._call(command())
            except TaskStoreUnavailableError:
                if self._closed.is_set():
                    raise
                logger.warning("%s: the task store cannot be reached; retrying", what)
                await self._pause()

    async def _pause(self) -> None:
        await asyncio.sleep(min(1.0, self._lease / 4))

    async def _ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self._queue, GROUP, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    async def _read_new(self) -> TaskRecord | None:
        """A new entry: at once when one waits, else after a blocking read. The entry carries
        the task, so that taking it is this one read (no script, no write of our own)."""
        # Well inside the socket timeout, or every quiet read would look like an outage.
        block_ms = int(1000 * min(READ_BLOCK_SECONDS, self._lease / 4, self._timeout / 2))
        answer = cast(
            list[tuple[str, list[tuple[str, dict[str, str]]]]] | None,
            await self._call(
                self._redis.xreadgroup(
                    GROUP, self.consumer, {self._queue: ">"}, count=1, block=block_ms
                )
            ),
        )
        for _stream, entries in answer or []:
            for entry, fields in entries:
                if "body" in fields:
                    return TaskRecord(
                        load_task(fields["body"]), status=TaskStatus.FETCHING, entry=entry
                    )
                record = await self._take_old_entry(entry, fields.get("task", ""))
                if record is not None:
                    return record
        return None

    async def _take_old_entry(self, entry: str, task_id: str) -> TaskRecord | None:
        """An entry queued by the previous version (the id only): the task is in its hash."""
        taken = await self._call(
            self._take_old(keys=[self._task_key(task_id), self._queue], args=[entry])
        )
        if not taken:
            logger.warning("entry %s: holds no task, nor does its hash; dropped", entry)
            return None
        body, report = str(taken[0]), str(taken[1])
        record = TaskRecord(load_task(body), status=TaskStatus.FETCHING, entry=entry)
        record.report_started_elsewhere = bool(report)
        return record

    async def _drop(self, entry: str) -> None:
        """An entry whose task is nowhere: nobody can run it."""
        logger.warning("entry %s: holds no task, nor does its hash; dropped", entry)
        await self._call(self._redis.xack(self._queue, GROUP, entry))
        await self._call(self._redis.xdel(self._queue, entry))

    async def _take_over(self) -> TaskRecord | None:
        """One entry idle past the lease (its replica died), now this worker's."""
        now = time.monotonic()
        if now < self._next_takeover_check:
            return None
        self._next_takeover_check = now + self._lease / 4
        answer = await self._call(
            self._redis.xautoclaim(
                self._queue,
                GROUP,
                self.consumer,
                min_idle_time=int(self._lease * 1000),
                start_id=self._autoclaim_cursor,
                count=1,
            )
        )
        self._autoclaim_cursor = answer[0] or "0-0"
        if self._autoclaim_cursor != "0-0":
            self._next_takeover_check = now  # more to look at: look again on the next call
        for entry, fields in answer[1]:
            if fields is None:
                continue  # deleted meanwhile: XAUTOCLAIM already forgot it
            taken = await self._call(
                self._take_over_entry(
                    keys=[self._task_key(fields.get("task", "")), self._queue],
                    args=[entry, self.consumer],
                )
            )
            if not taken:
                continue  # stale: dropped
            deliveries, report = int(taken[0]), str(taken[1])
            body = fields.get("body") or str(taken[2])  # in the hash: the previous layout
            if not body:
                await self._drop(entry)
                continue
            record = TaskRecord(
                load_task(body),
                status=TaskStatus.FETCHING,
                entry=entry,
                deliveries=deliveries,
                taken_over=True,
                # Even by this replica: a report it stopped may have reached the engine.
                report_started_elsewhere=bool(report),
            )
            logger.warning(
                "task %s: taken over from a replica that stopped (delivery %d)",
                record.id,
                deliveries,
            )
            return record
        return None

    async def _keep_up(self) -> None:
        """Renew leases, count the queue, forget dead consumers; never stops on an outage.

        It stops once the store is closed for good, not only when cancelled: a cancellation
        was seen lost inside a Redis call (about one close in 30 just after Redis restarted),
        and the close then waited for the upkeep forever."""
        rounds = 0
        while not await self._gone_within(self._lease / 3):
            try:
                await self._renew_leases()
                await self._count_queued()
                rounds += 1
                if rounds % FORGET_CONSUMER_LEASES == 0:
                    await self._forget_dead_consumers()
            except (RedisError, OSError) as error:
                logger.warning("task store upkeep failed: %s", type(error).__name__)

    async def _gone_within(self, seconds: float) -> bool:
        """Past close(), while the workers drain, leases are still renewed: until aclose()."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._gone.wait()
        return self._gone.is_set()

    async def _renew_leases(self) -> None:
        held = [record for record in self._held.values() if record.entry]
        lost = await self._renew(
            keys=[self._queue, self._replicas],
            args=[self.consumer, int(self._lease * 3000), *(record.entry for record in held)],
        )
        for entry in cast(list[str], lost):
            logger.warning("entry %s: its lease ran out and another replica took it", entry)

    async def _count_queued(self) -> None:
        length = await self._redis.xlen(self._queue)
        summary = await self._redis.xpending(self._queue, GROUP)
        self._queued = max(0, int(length) - int(summary["pending"]))

    async def _forget_dead_consumers(self) -> None:
        for consumer in await self._redis.xinfo_consumers(self._queue, GROUP):
            idle_ms = int(consumer.get("idle", 0))
            if (
                consumer["name"] != self.consumer
                and int(consumer["pending"]) == 0
                and idle_ms > FORGET_CONSUMER_LEASES * self._lease * 1000
            ):
                await self._redis.xgroup_delconsumer(self._queue, GROUP, consumer["name"])

    async def _forget_self(self) -> None:
        summary = await self._redis.xpending_range(self._queue, GROUP, "-", "+", 1, self.consumer)
        if not summary:
            await self._redis.xgroup_delconsumer(self._queue, GROUP, self.consumer)
