"""Route dependencies: each route asks for the one part of the runtime it uses.

The lifespan keeps its `Runtime` in the request state; only this module reads it there.
The dependencies are `async` so that FastAPI runs them on the event loop, not in a thread.
"""

from typing import Annotated

from fastapi import Depends, Request

from ..capacity import Capacity
from ..config import Settings
from ..engine.trust import EngineTrust
from ..huggingface.client import HuggingFaceClient
from ..metrics import Metrics
from ..runtime import Runtime
from ..tasks.store import TaskStore


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.state.runtime
    return runtime


async def get_settings(request: Request) -> Settings:
    return runtime_of(request).settings


async def get_store(request: Request) -> TaskStore:
    return runtime_of(request).store


async def get_client(request: Request) -> HuggingFaceClient:
    return runtime_of(request).hf


async def get_metrics(request: Request) -> Metrics:
    return runtime_of(request).metrics


async def get_trust(request: Request) -> EngineTrust:
    return runtime_of(request).trust


async def get_direct_capacity(request: Request) -> Capacity:
    return runtime_of(request).direct_capacity


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[TaskStore, Depends(get_store)]
ClientDep = Annotated[HuggingFaceClient, Depends(get_client)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
DirectCapacityDep = Annotated[Capacity, Depends(get_direct_capacity)]
TrustDep = Annotated[EngineTrust, Depends(get_trust)]
