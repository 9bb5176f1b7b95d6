"""The direct endpoint: the two files as multipart in, the PNG straight back."""

import base64
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, File, Header, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from ..errors import InvalidInputError, MalformedRequestError
from ..generation import check_image_count, generate_images, image_seed
from ..huggingface.client import GeneratedImage
from ..inputs import description_too_large, prompt_byte_limit, prompt_too_long
from ..service import DESCRIPTION_EXAMPLE, PROMPT_EXAMPLE, parse_files
from .access import DirectGrantDep
from .answers import error_answers
from .counting import CountedRoute
from .deps import ClientDep, DirectCapacityDep, SettingsDep


class Timings(BaseModel):
    upstream_seconds: float = Field(
        description="Time spent on the inference API, retries included."
    )
    total_seconds: float = Field(description="Time from the request to the answer.")


class GeneratedEntry(BaseModel):
    """One of the `n` images."""

    image: str = Field(description="The PNG as a `data:image/png;base64,...` URL.")
    seed: int | None = Field(description="The seed that made it; null if the provider takes none.")
    width: int
    height: int
    source_format: str = Field(description="The format the model answered in (png, jpeg, ...).")
    attempts: int = Field(description="Calls made to the API for it, retries included.")
    request_id: str | None = Field(description="The API's request id, for its support.")


class ImageAnswer(BaseModel):
    """The JSON answer (`Accept: application/json`): the PNGs as data URLs, and how made."""

    image: str = Field(description="The (first) PNG as a `data:image/png;base64,...` URL.")
    images: list[GeneratedEntry] = Field(description="Every image, `n` of them, seed by seed.")
    model: str
    provider: str = Field(description="The Inference Provider that generated the image.")
    seed: int | None = Field(description="The (first) image's seed: chosen when none was given.")
    parameters: dict[str, Any] = Field(description="The parameters sent to the provider.")
    width: int
    height: int
    source_format: str = Field(description="The format the model answered in (png, jpeg, ...).")
    attempts: int = Field(description="Calls made to the API, retries included.")
    request_id: str | None = Field(description="The API's request id, for its support.")
    timings: Timings


IMAGE_ANSWER_EXAMPLE = ImageAnswer(
    image="data:image/png;base64,iVBORw0KGgo...",
    images=[
        GeneratedEntry(
            image="data:image/png;base64,iVBORw0KGgo...",
            seed=1234,
            width=512,
            height=512,
            source_format="jpeg",
            attempts=1,
            request_id="Root=1-abc",
        )
    ],
    model="stabilityai/stable-diffusion-3-medium-diffusers",
    provider="hf-inference",
    seed=1234,
    parameters={"width": 512, "height": 512, "seed": 1234},
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


class FormRoute(CountedRoute):
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


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def image_headers(images: list[GeneratedImage]) -> dict[str, str]:
    """What made the images, as headers: attempts, provider, model, the seeds in order."""
    first = images[0]
    headers = {"X-Upstream-Attempts": str(first.attempts), "X-Provider": first.provider}
    if first.model.isascii():
        headers["X-Model"] = first.model
    seeds = [image_seed(image) for image in images]
    if None not in seeds:
        headers["X-Seed"] = ", ".join(str(seed) for seed in seeds)
    return headers


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
    settings: SettingsDep,
    hf: ClientDep,
    capacity: DirectCapacityDep,
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
    """Call the model with the prompt and answer the PNG (or JSON with `n` images as data URLs)."""
    started = time.perf_counter()
    wants_json = prefers_json(accept)
    with capacity.slot():
        raw_description = await read_upload(
            json_description,
            limit=settings.max_description_bytes,
            too_large=description_too_large(settings.max_description_bytes),
        )
        # UTF-8 takes at most 4 bytes a character: past this, the prompt is surely too long.
        raw_prompt = await read_upload(
            input_text,
            limit=prompt_byte_limit(settings.max_prompt_length),
            too_large=prompt_too_long(settings.max_prompt_length),
        )
        description, prompt = parse_files(raw_description, raw_prompt, settings)
        if wants_json:
            check_image_count(
                description, capacity.limit, f"the service makes at most {capacity.limit} at once"
            )
        else:
            check_image_count(
                description, 1, "a PNG answer holds one image: ask for JSON to get several"
            )
        # Each image holds a place of its own, as that many requests would.
        with capacity.slot(description.n - 1):
            images = await generate_images(
                description, prompt, hf, grant, provenance=settings.png_provenance
            )
    first = images[0]
    headers = image_headers(images)
    if not wants_json:
        return Response(first.png.data, media_type="image/png", headers=headers)
    answer = ImageAnswer(
        image=data_url(first.png.data),
        images=[
            GeneratedEntry(
                image=data_url(image.png.data),
                seed=image_seed(image),
                width=image.png.width,
                height=image.png.height,
                source_format=image.png.source_format,
                attempts=image.attempts,
                request_id=image.request_id,
            )
            for image in images
        ],
        model=first.model,
        provider=first.provider,
        seed=image_seed(first),
        parameters=first.parameters,
        width=first.png.width,
        height=first.png.height,
        source_format=first.png.source_format,
        attempts=first.attempts,
        request_id=first.request_id,
        timings=Timings(
            upstream_seconds=round(max(image.upstream_seconds for image in images), 3),
            total_seconds=round(time.perf_counter() - started, 3),
        ),
    )
    return JSONResponse(answer.model_dump(mode="json"), headers=headers)
