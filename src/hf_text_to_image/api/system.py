"""Liveness and the landing page."""

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

from .answers import StatusAnswer, json_answer

router = APIRouter()


@router.get("/", include_in_schema=False)
async def root() -> RedirectResponse:
    return RedirectResponse("/docs")


@router.get(
    "/live",
    summary="Whether the process serves (the liveness probe)",
    tags=["Engine"],
    responses={200: json_answer(StatusAnswer, "The process answers.", {"status": "alive"})},
)
async def live() -> dict[str, str]:
    """200 while the event loop answers, whatever the task store or the engines do: a Redis
    that is away makes `/status` answer 503, and must not get every replica restarted."""
    return {"status": "alive"}
