"""The OpenAPI side of the service's answers: every error answer's schema and an example."""

from typing import Any

from pydantic import BaseModel, Field


class ErrorAnswer(BaseModel):
    """Every 4xx and 5xx answer of the service: one sentence saying what to do."""

    detail: str = Field(description="What went wrong and what to do about it.")


def error_answers(answers: dict[int, tuple[str, str]]) -> dict[int | str, dict[str, Any]]:
    """`responses=` for FastAPI: per status, a description and an example `detail`."""
    return {
        status: {
            "model": ErrorAnswer,
            "description": description,
            "content": {"application/json": {"example": {"detail": example}}},
        }
        for status, (description, example) in answers.items()
    }


class ValidationProblem(BaseModel):
    loc: list[str | int] = Field(description='Where in the body, e.g. ["body", "task", "id"].')
    msg: str
    type: str


class ValidationAnswer(BaseModel):
    """A malformed engine request (422): the problems, never the values sent."""

    detail: list[ValidationProblem]


VALIDATION_ANSWER: dict[int | str, dict[str, Any]] = {
    422: {
        "model": ValidationAnswer,
        "description": "The body or path is malformed; the values sent are not echoed.",
        "content": {
            "application/json": {
                "example": {
                    "detail": [
                        {"loc": ["body", "task", "id"], "msg": "Field required", "type": "missing"}
                    ]
                }
            }
        },
    }
}


class StatusAnswer(BaseModel):
    status: str = Field(
        description="`available`, or `unavailable` while shutting down or without Redis."
    )
    tasks: int | None = Field(default=None, description="Tasks held now (queued and running).")
    max_tasks: int | None = Field(default=None, description="MAX_TASKS.")
    detail: str | None = Field(default=None, description="Why it is unavailable, when known.")


class ComputeAnswer(BaseModel):
    id: str = Field(description="The task's id.")
    status: str = Field(description="`accepted`: the result goes to the task's callback_url.")


def json_answer(model: type[BaseModel], description: str, example: object) -> dict[str, Any]:
    """One documented answer: its schema (`model`) and an example."""
    return {
        "model": model,
        "description": description,
        "content": {"application/json": {"example": example}},
    }
