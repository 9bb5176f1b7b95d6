"""OpenAI's Images API for Hugging Face models: `POST /v1/images/generations`.

What the OpenAI SDK, LiteLLM, Open WebUI and LangChain send: `model`, `prompt`, `n`, `size`,
`response_format`, the caller's token as `Authorization: Bearer` (the SDK's `api_key`),
plus the Hugging Face parameters as extra body fields. The answer and every error come in
OpenAI's shapes; the sentences are the service's own.
"""

import base64
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..access import TokenGrant
from ..billing import BILL_TO_PATTERN
from ..errors import InvalidInputError, InvalidParameterError, ServiceError
from ..generation import MAX_IMAGES, check_image_count, generate_images, image_seed
from ..huggingface.providers import Provider
from ..inputs import MODEL_ID_PATTERN, JsonDescription, SamplingParameters
from .access import token_grant
from .answers import json_answer
from .counting import CountedRoute
from .deps import ClientDep, DirectCapacityDep, SettingsDep, runtime_of
from .direct import image_headers
from .handlers import error_headers, log_refusal

MIN_SIDE, MAX_SIDE = 64, 4096
# JSON escapes take at most 6 bytes a character; the rest of a body is a few short fields.
BODY_OVERHEAD = 16_384
BEARER_ADVICE = "send your Hugging Face token as the bearer token (the OpenAI SDK's api_key)"


class ImagesRequest(SamplingParameters):
    """The body of `POST /v1/images/generations`: OpenAI's fields and Hugging Face's."""

    model_config = ConfigDict(strict=False, extra="forbid")

    model: str = Field(
        pattern=MODEL_ID_PATTERN,
        description="A Hub model id, e.g. `black-forest-labs/FLUX.1-schnell`.",
        examples=["black-forest-labs/FLUX.1-schnell"],
    )
    prompt: str = Field(description="What to draw.", examples=["A majestic hummingbird"])
    n: int = Field(default=1, ge=1, le=MAX_IMAGES, description="How many images (seeds s, s+1…).")
    size: str = Field(
        default="auto",
        description="`WIDTHxHEIGHT` (64 to 4096 each), or `auto` for the model's own size.",
        examples=["1024x1024"],
    )
    response_format: Literal["b64_json", "url"] = Field(
        default="b64_json", description="`b64_json`: the service keeps no images to link to."
    )
    output_format: Literal["png", "jpeg", "webp"] = Field(
        default="png", description="`png`: every image is a PNG with its provenance inside."
    )
    # Sent by some OpenAI tools; Hugging Face models take num_inference_steps instead.
    quality: str | None = Field(default=None, description="Accepted and not used.")
    style: str | None = Field(default=None, description="Accepted and not used.")
    user: str | None = Field(default=None, description="Accepted and not used.")
    provider: Provider | None = Field(
        default=None, description="The Inference Provider; `auto` (the default) or a name."
    )
    bill_to: str | None = Field(
        default=None,
        pattern=BILL_TO_PATTERN,
        description="A Hub organisation to bill the router calls to (`X-HF-Bill-To`).",
    )


class ImageDatum(BaseModel):
    b64_json: str = Field(description="The PNG, base64-encoded.")
    seed: int | None = Field(description="The seed that made it; null if the provider takes none.")
    provider: str = Field(description="The Inference Provider that made it.")


class ImagesAnswer(BaseModel):
    """OpenAI's answer, plus what made the images."""

    created: int = Field(description="Unix time of the answer.")
    data: list[ImageDatum]
    model: str
    output_format: str
    size: str = Field(description="The images' size, `WIDTHxHEIGHT`.")


class OpenAIErrorBody(BaseModel):
    message: str = Field(description="What went wrong and what to do: the service's sentence.")
    type: str = Field(description="`invalid_request_error`, `authentication_error`, ...")
    param: str | None = Field(default=None, description="The parameter at fault, if one is.")
    code: str | None = Field(default=None, description="A short code, e.g. `invalid_value`.")


class OpenAIError(BaseModel):
    """Every 4xx and 5xx answer of this endpoint, in OpenAI's shape."""

    error: OpenAIErrorBody


def error_type(error: ServiceError) -> str:
    if error.http_status == 401:
        return "authentication_error"
    return "invalid_request_error" if error.http_status < 500 else "server_error"


def error_code(error: ServiceError) -> str | None:
    if isinstance(error, InvalidParameterError):
        return error.code
    return {
        401: "invalid_api_key",
        502: "upstream_error",
        503: "service_unavailable",
        504: "upstream_timeout",
    }.get(error.http_status)


def openai_error(error: ServiceError) -> JSONResponse:
    """The service's error in OpenAI's shape, with its own sentence and status."""
    body = OpenAIError(
        error=OpenAIErrorBody(
            message=error.message,
            type=error_type(error),
            param=error.param if isinstance(error, InvalidParameterError) else None,
            code=error_code(error),
        )
    )
    return JSONResponse(
        body.model_dump(mode="json"), status_code=error.http_status, headers=error_headers(error)
    )


def describe_body_problem(errors: Sequence[Any]) -> InvalidParameterError:
    """FastAPI's validation errors of the body as OpenAI would word the first one."""
    first = errors[0] if errors else {}
    location = [str(part) for part in first.get("loc", ()) if part != "body"]
    param = ".".join(location)
    kind = first.get("type", "")
    if kind == "json_invalid" or not param:
        return InvalidParameterError(
            "The body is not valid JSON: send a JSON object such as "
            '{"model": "black-forest-labs/FLUX.1-schnell", "prompt": "a lighthouse"}.',
            param=None,
            code="invalid_json",
        )
    if kind == "missing":
        return InvalidParameterError(
            f"Missing required parameter: '{param}'.",
            param=param,
            code="missing_required_parameter",
        )
    if kind == "extra_forbidden":
        return InvalidParameterError(
            f"Unrecognized request argument supplied: {param}.",
            param=param,
            code="unknown_parameter",
        )
    message = str(first.get("msg", "")).removeprefix("Value error, ")
    return InvalidParameterError(f"Invalid value for '{param}': {message}.", param=param)


class BoundedRequest(Request):
    """A request whose body is refused past `limit` bytes instead of being held whole."""

    limit = 0

    async def body(self) -> bytes:
        if not hasattr(self, "_body"):
            chunks, size = [], 0
            async for chunk in self.stream():
                size += len(chunk)
                if size > self.limit:
                    raise InvalidParameterError(
                        f"The body is larger than the limit of {self.limit} bytes "
                        "(MAX_PROMPT_LENGTH sets it).",
                        param=None,
                        code="request_too_large",
                    )
                chunks.append(chunk)
            self._body = b"".join(chunks)
        return self._body


class OpenAIRoute(APIRoute):
    """Reads a bounded body and answers every error in OpenAI's shape."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            settings = runtime_of(request).settings
            bounded = BoundedRequest(request.scope, request.receive)
            bounded.limit = 6 * settings.max_prompt_length + BODY_OVERHEAD
            try:
                await bounded.body()  # refused here, past the limit, before FastAPI parses it
                return await handler(bounded)
            except RequestValidationError as problem:
                error: ServiceError = describe_body_problem(problem.errors())
            except ServiceError as refused:
                error = refused
            log_refusal(request, error)
            return openai_error(error)

        return handle


class CountedOpenAIRoute(CountedRoute, OpenAIRoute):
    """OpenAI's error shape inside, `direct_requests_total` counting every answer outside."""


router = APIRouter(prefix="/v1", tags=["OpenAI-compatible"], route_class=CountedOpenAIRoute)
# The bearer is the caller's Hugging Face token, or one of the operator's API keys.
GrantDep = Annotated[
    TokenGrant,
    Depends(token_grant(bearer_is_hf_token=True, how_to_bring_one=BEARER_ADVICE)),
]


def checked_prompt(prompt: str, max_length: int) -> str:
    text = prompt.strip()
    if not text:
        raise InvalidParameterError("prompt is empty: say what to draw.", param="prompt")
    if "\x00" in text:
        raise InvalidParameterError("prompt contains NUL characters.", param="prompt")
    if len(text) > max_length:
        raise InvalidParameterError(
            f"prompt has {len(text)} characters; the limit is {max_length} (MAX_PROMPT_LENGTH).",
            param="prompt",
        )
    return text


def size_parameters(size: str) -> dict[str, int]:
    """`WxH` as width and height; `auto` leaves the size to the model."""
    if size == "auto":
        return {}
    width, _, height = size.partition("x")
    if not (width.isdigit() and height.isdigit() and len(width) < 6 and len(height) < 6):
        raise InvalidParameterError(
            "size must be WIDTHxHEIGHT, such as 1024x1024, or auto.", param="size"
        )
    sides = {"width": int(width), "height": int(height)}
    if not all(MIN_SIDE <= side <= MAX_SIDE for side in sides.values()):
        raise InvalidParameterError(
            f"size {size} is out of range: each side goes from {MIN_SIDE} to {MAX_SIDE}.",
            param="size",
        )
    return sides


def to_description(body: ImagesRequest) -> JsonDescription:
    """The request as the service's own description of what to call."""
    if body.response_format != "b64_json":
        raise InvalidParameterError(
            "response_format url is not offered: the service keeps no images to link to; "
            "use b64_json (the default).",
            param="response_format",
            code="unsupported_value",
        )
    if body.output_format != "png":
        raise InvalidParameterError(
            f"output_format {body.output_format} is not offered: the images are PNG, with "
            "their provenance inside; use png (the default).",
            param="output_format",
            code="unsupported_value",
        )
    parameters = body.model_dump(include=set(SamplingParameters.model_fields), exclude_none=True)
    try:
        return JsonDescription.model_validate(
            {
                "model": body.model,
                "provider": body.provider,
                "bill_to": body.bill_to,
                "n": body.n,
                "parameters": {**parameters, **size_parameters(body.size)},
            }
        )
    except ValidationError as error:  # every field was checked above; kept as a safety net
        raise InvalidInputError(f"The request is invalid: {error.errors()[0]['msg']}.") from error


def _error_example(message: str, kind: str, param: str | None, code: str | None) -> object:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


# "4XX" rather than 400: FastAPI then adds no 422 of its own, which this endpoint never sends.
ANSWERS: dict[int | str, dict[str, Any]] = {
    200: json_answer(
        ImagesAnswer,
        "The images, base64 PNGs with their provenance inside; `X-Seed` lists the seeds.",
        {
            "created": 1764662400,
            "data": [{"b64_json": "iVBORw0KGgo...", "seed": 1234, "provider": "hf-inference"}],
            "model": "stabilityai/stable-diffusion-3-medium-diffusers",
            "output_format": "png",
            "size": "1024x1024",
        },
    ),
    "4XX": json_answer(
        OpenAIError,
        "A parameter is wrong (400; `error.param` names it), or the body too large.",
        _error_example(
            "Invalid value for 'n': Input should be less than or equal to 10.",
            "invalid_request_error",
            "n",
            "invalid_value",
        ),
    ),
    401: json_answer(
        OpenAIError,
        "A token is needed, or the API key is not valid.",
        _error_example(
            "The Authorization header must be 'Bearer <key>' (or be left out).",
            "authentication_error",
            None,
            "invalid_api_key",
        ),
    ),
    502: json_answer(
        OpenAIError,
        "The inference API failed or answered something that is not an image.",
        _error_example(
            "The Hugging Face API refused the token (401): check api_token.",
            "server_error",
            None,
            "upstream_error",
        ),
    ),
    503: json_answer(
        OpenAIError,
        "The service is busy, or the model is still loading; try again.",
        _error_example(
            "The service is generating as many images as it allows; try again shortly.",
            "server_error",
            None,
            "service_unavailable",
        ),
    ),
    504: json_answer(
        OpenAIError,
        "The inference API did not answer in time.",
        _error_example(
            "The Hugging Face API did not answer within 120 seconds.",
            "server_error",
            None,
            "upstream_timeout",
        ),
    ),
}


@router.post(
    "/images/generations",
    summary="Generate images, OpenAI-style (the OpenAI SDK's images.generate)",
    response_model=ImagesAnswer,
    responses=ANSWERS,
)
async def generate(
    body: ImagesRequest,
    settings: SettingsDep,
    hf: ClientDep,
    capacity: DirectCapacityDep,
    grant: GrantDep,
) -> JSONResponse:
    """`n` images for the prompt as base64 PNGs; one failure fails the call."""
    prompt = checked_prompt(body.prompt, settings.max_prompt_length)
    description = to_description(body)
    check_image_count(description, capacity.limit, f"the service makes at most {capacity.limit}")
    with capacity.slot(description.n):
        images = await generate_images(
            description, prompt, hf, grant, provenance=settings.png_provenance
        )
    first = images[0].png
    answer = ImagesAnswer(
        created=int(time.time()),
        data=[
            ImageDatum(
                b64_json=base64.b64encode(image.png.data).decode("ascii"),
                seed=image_seed(image),
                provider=image.provider,
            )
            for image in images
        ],
        model=images[0].model,
        output_format="png",
        size=f"{first.width}x{first.height}",
    )
    return JSONResponse(answer.model_dump(mode="json"), headers=image_headers(images))
