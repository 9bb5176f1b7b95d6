"""Route dependencies: the runtime the lifespan built, reached through the request."""

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

if TYPE_CHECKING:
    from ..runtime import Runtime


async def get_runtime(request: Request) -> "Runtime":
    runtime: Runtime = request.state.runtime
    return runtime


RuntimeDep = Annotated["Runtime", Depends(get_runtime)]
