"""Every structure that grows with what callers send has a size bound: 10,000 distinct
requests leave each at its bound and the memory they hold flat."""

import dataclasses
import logging
import sys
from collections.abc import Callable

import httpx
import pytest

from hf_text_to_image.access import TokenGrant
from hf_text_to_image.background import BackgroundThreads
from hf_text_to_image.config import Settings
from hf_text_to_image.engine.models import ServiceTask, TaskStatus
from hf_text_to_image.huggingface.client import (
    LEGACY_URLS_REMEMBERED,
    HuggingFaceClient,
    build_hf_client,
)
from hf_text_to_image.huggingface.hub import MAX_CACHED_MODELS
from hf_text_to_image.inputs import JsonDescription
from hf_text_to_image.metrics import Metrics
from hf_text_to_image.outbound import OutboundGuard, OutboundPolicy
from hf_text_to_image.pacing import Pacing
from hf_text_to_image.tasks.memory import MemoryTaskStore

REQUESTS = 10_000
# By then every structure is at its bound; from there on, what they hold must stay flat.
MEASURED_FROM = 5_000
MAX_FINISHED = 1_000
TOKEN = "hf_BoundsSecretToken0123456789"


def hub_answer(request: httpx.Request) -> httpx.Response:
    model = request.url.path.removeprefix("/api/models/")
    mapping = {"fal-ai": {"providerId": f"fal/{model}", "task": "text-to-image", "status": "live"}}
    return httpx.Response(200, json={"inferenceProviderMapping": mapping})


def deep_size(value: object) -> int:
    """Bytes held by `value` and everything it holds (containers, strings, dataclasses)."""
    size = sys.getsizeof(value)
    if isinstance(value, dict):
        return size + sum(deep_size(k) + deep_size(v) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return size + sum(deep_size(item) for item in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return size + sum(deep_size(getattr(value, f.name)) for f in dataclasses.fields(value))
    return size


def held_bytes(board: MemoryTaskStore, hf: HuggingFaceClient) -> int:
    """What the structures keyed by request content hold (they are private: read them here)."""
    return (
        deep_size(board._done)
        + deep_size(board._active)
        + deep_size(hf._legacy_urls_seen)
        + deep_size(hf.provider_mappings._cache)
    )


async def one_request(
    number: int, board: MemoryTaskStore, hf: HuggingFaceClient, grant: TokenGrant
) -> None:
    """Request `number`, in turn an engine task, a retired api_url, a model: each never seen."""
    kind = number % 3
    if kind == 0:  # an engine task with an id never seen (ids may be 200 characters long)
        task_id = f"{number:08d}" + "x" * 192
        task = ServiceTask.model_validate(
            {
                "task": {"id": task_id, "data_in": ["a", "b"]},
                "callback_url": f"http://engine/tasks/{task_id}",
                "storage_url": "http://engine/storage",
            }
        )
        assert await board.submit(task)
        record = await board.next()  # as a worker takes it, runs it and reports it
        assert await board.claim_report(record, TaskStatus.FINISHED)
        await board.release(record, TaskStatus.FINISHED)
    elif kind == 1:  # a retired URL never seen, as long as callers may send one
        url = f"https://api-inference.huggingface.co/models/org/m{number}-" + "y" * 2_000
        legacy = JsonDescription.model_validate({"api_token": TOKEN, "api_url": url})
        await hf.routes(legacy, TOKEN)
    else:  # a model never asked about: the Hub's answer is kept
        by_model = JsonDescription.model_validate(
            {"api_token": TOKEN, "model": f"org/model-{number}"}
        )
        await hf.routes(by_model, grant.token_for(by_model.api_token))


@pytest.mark.anyio
async def test_ten_thousand_distinct_requests_leave_every_structure_at_its_bound(
    make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)  # 10,000 retired-URL warnings are not the point here
    settings = make_settings(hf_default_provider="auto")
    board = MemoryTaskStore(max_tasks=8, retention_seconds=3600, max_finished=MAX_FINISHED)
    metrics = Metrics()
    async with httpx.AsyncClient(transport=httpx.MockTransport(hub_answer)) as http:
        policy = OutboundPolicy.from_settings(settings)
        hf = build_hf_client(
            http,
            settings,
            metrics=metrics,
            guard=OutboundGuard(policy),
            download_guard=OutboundGuard(policy),
            pacing=Pacing(),
            conversions=BackgroundThreads(2),
        )
        grant = TokenGrant(operator_token=None)
        for number in range(REQUESTS):
            if number == MEASURED_FROM:
                held_at_start = held_bytes(board, hf)
            await one_request(number, board, hf, grant)
        held_at_end = held_bytes(board, hf)

    assert board.finished_count == MAX_FINISHED
    assert board.active_count == 0
    assert hf.legacy_urls_remembered == LEGACY_URLS_REMEMBERED
    assert hf.provider_mappings.cached_models == MAX_CACHED_MODELS
    # Each request brought 200 bytes to 2 KB of its own: kept, 8,000 of them would be ~8 MB.
    assert held_at_end <= held_at_start * 1.01, (held_at_start, held_at_end)
