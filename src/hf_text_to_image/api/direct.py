"""The direct endpoint: the two files as multipart in, the PNG straight back."""

import base64
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, File, Header, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from ..errors import InvalidInputError, MalformedRequestError
from ..inputs import description_too_large, prompt_too_long
from ..service import DESCRIPTION_EXAMPLE, PROMPT_EXAMPLE, generate_from_files
from .access import DirectGrantDep
from .answers import error_answers
from .deps import RuntimeDep


class Timings(BaseModel):
    upstream_seconds: float = Field(
        description="Time spent on the inference API, retries included."
    )
    total_seconds: float = Field(description="Time from the request to the answer.")


class ImageAnswer(BaseModel):
    """The JSON answer (`Accept: application/json`): the PNG as a data URL, and how it was made."""

    image: str = Field(description="The PNG as a `data:image/png;base64,...` URL.")
    model: str
    provider: str = Field(description="The Inference Provider that generated the image.")
    parameters: dict[str, Any] = Field(description="The parameters sent, as the caller set them.")
    width: int
    height: int
    source_format: str = Field(description="The format the model answered in (png, jpeg, ...).")
    attempts: int = Field(description="Calls made to the API, retries included.")
    request_id: str | None = Field(description="The API's request id, for its support.")
    timings: Timings


IMAGE_ANSWER_EXAMPLE = ImageAnswer(
    image="data:image/png;base64,iVBORw0KGgo...",
    model="stabilityai/stable-diffusion-3-medium-diffusers",
    provider="hf-inference",
    parameters={"width": 512, "height": 512},
    width=512,
    height=512,
    source_format="jpeg",
    attempts=1,
    request_id="Root=1-abc",
    timings=Timings(upstream_seconds=4.2, total_seconds=4.25),
)
PNG_RESPONSE: dict[str, Any] = {
    "model": ImageAnswer,
    "description": "The generated image as PNG (or JSON with a data URL when asked for JSON).",
    "content": {
        "image/png": {"schema": {"type": "string", "format": "binary"}},
        "application/json": {"example": IMAGE_ANSWER_EXAMPLE.model_dump(mode="json")},
    },
}
ERROR_RESPONSES = error_answers(
    {
        400: (
            "Invalid json_description or input_text; the detail says what to fix.",
            "json_description is invalid: parameters.width: Input should be a valid integer.",
        ),
        401: (
            "An API key was sent and is not valid, or one is needed to use the service's token.",
            "The Authorization header must be 'Bearer <key>' (or be left out).",
        ),
        422: (
            "The request is not the two-file multipart form; the detail says how to send it.",
            "input_text was sent as a text field, not as a file: put @ before the file name "
            "(curl -F json_description=@desc.json -F input_text=@prompt.txt).",
        ),
        502: (
            "The inference API failed or answered something that is not an image.",
            "The Hugging Face API refused the token (401): check api_token.",
        ),
        503: (
            "The service is busy, or the model is still loading; try again.",
            "The service is generating as many images as it allows; try again shortly.",
        ),
        504: (
            "The inference API did not answer in time.",
            "The Hugging Face API did not answer within 120 seconds.",
        ),
    }
)
PARTS = ("json_description", "input_text")
CURL_FORM = "curl -F json_description=@desc.json -F input_text=@prompt.txt"


def describe_form_problem(errors: Sequence[Any], content_type: str) -> str:
    """FastAPI's validation errors of the two-file form, as one sentence saying what to send."""
    if not content_type.lower().startswith("multipart/form-data"):
        sent = content_type.split(";")[0] or "a body without a Content-Type"
        return f"POST /process takes a multipart form with two files, not {sent}: {CURL_FORM}."
    missing, as_text = [], []
    for error in errors:
        location = tuple(error.get("loc", ()))
        name = location[-1] if location else ""
        if name not in PARTS:
            continue
        if error.get("type") == "missing":
            missing.append(name)
        else:
            as_text.append(name)
    sentences = []
    if as_text:
        verb = "was" if len(as_text) == 1 else "were"
        sentences.append(
            f"{' and '.join(as_text)} {verb} sent as a text field, not as a file: "
            f"put @ before the file name ({CURL_FORM})."
        )
    if missing:
        part = "part" if len(missing) == 1 else "parts"
        sentences.append(
            f"The form has no {' and no '.join(missing)} {part}: send both files ({CURL_FORM})."
        )
    return " ".join(sentences) or f"The form is not the one this endpoint takes: {CURL_FORM}."


class FormRoute(APIRoute):
    """The direct endpoint's form mistakes as one sentence, like its other 4xx answers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as error:
                content_type = request.headers.get("content-type", "")
                message = describe_form_problem(error.errors(), content_type)
                raise MalformedRequestError(message) from None

        return handle


router = APIRouter(tags=["Direct"], route_class=FormRoute)


def prefers_json(accept: str | None) -> bool:
    """True when the Accept header ranks application/json above image/png."""
    if not accept:
        return False
    weights: dict[str, float] = {}
    for item in accept.split(","):
        media_type, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        weights[media_type.lower()] = quality
    png = max(weights.get("image/png", 0.0), weights.get("image/*", 0.0), weights.get("*/*", 0.0))
    return weights.get("application/json", 0.0) > png


async def read_upload(upload: UploadFile, *, limit: int, too_large: str) -> bytes:
    """The upload's bytes, refusing more than `limit` (with `too_large`) without holding them."""
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise InvalidInputError(too_large)
    return data


@router.post(
    "/process",
    summary="Generate an image from a prompt, right away",
    response_class=Response,
    responses={200: PNG_RESPONSE, **ERROR_RESPONSES},
)
async def process(
    runtime: RuntimeDep,
    grant: DirectGrantDep,
    json_description: Annotated[
        UploadFile,
        File(
            description=f"JSON file naming the model and your token, e.g. `{DESCRIPTION_EXAMPLE}`"
        ),
    ],
    input_text: Annotated[
        UploadFile, File(description=f"UTF-8 text file with the prompt, e.g. `{PROMPT_EXAMPLE}`")
    ],
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """Call the model with the prompt and answer the PNG (or JSON with a data URL)."""
    settings = runtime.settings
    started = time.perf_counter()
    with runtime.direct_capacity.slot():
        raw_description = await read_upload(
            json_description,
            limit=settings.max_description_bytes,
            too_large=description_too_large(settings.max_description_bytes),
        )
        # UTF-8 takes at most 4 bytes a character: past this, the prompt is surely too long.
        raw_prompt = await read_upload(
            input_text,
            limit=4 * settings.max_prompt_length + 16,
            too_large=prompt_too_long(settings.max_prompt_length),
        )
        image = await generate_from_files(raw_description, raw_prompt, runtime.hf, settings, grant)
    headers = {"X-Upstream-Attempts": str(image.attempts)}
    if image.model.isascii():
        headers["X-Model"] = image.model
    if not prefers_json(accept):
        return Response(image.png.data, media_type="image/png", headers=headers)
    encoded = base64.b64encode(image.png.data).decode("ascii")
    answer = ImageAnswer(
        image=f"data:image/png;base64,{encoded}",
        model=image.model,
        provider=image.provider,
        parameters=image.parameters,
        width=image.png.width,
        height=image.png.height,
        source_format=image.png.source_format,
        attempts=image.attempts,
        request_id=image.request_id,
        timings=Timings(
            upstream_seconds=round(image.upstream_seconds, 3),
            total_seconds=round(time.perf_counter() - started, 3),
        ),
    )
    return JSONResponse(answer.model_dump(mode="json"), headers=headers)
