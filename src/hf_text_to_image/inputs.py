"""The caller's two files: `json_description` (what to call) and `input_text` (the prompt)."""

import json
import math
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from .billing import BILL_TO_PATTERN
from .errors import InvalidInputError
from .huggingface.providers import Provider
from .tokens import PLACEHOLDER_ADVICE, is_placeholder_token

# `org/name` on the Hub; providers' own ids may lack the org or carry a `:version`.
MODEL_ID_PATTERN = r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?(:[\w.-]+)?$"


# Names that older examples and tutorials use, which no API reads: passed through, they would
# be ignored upstream without a word.
MISNAMED_PARAMETERS = {
    "inference_steps": "num_inference_steps",
    "negative_prompts": "negative_prompt",
    "seeds": "seed",
}


class TargetSize(BaseModel):
    """The older `target_size` form of the image size."""

    model_config = ConfigDict(strict=True, extra="forbid")

    width: Annotated[int, Field(ge=64, le=4096)]
    height: Annotated[int, Field(ge=64, le=4096)]


class SamplingParameters(BaseModel):
    """How to generate: checked alike in `json_description` and in the OpenAI-style body."""

    model_config = ConfigDict(strict=True)

    guidance_scale: float | None = Field(default=None, ge=0, le=100)
    negative_prompt: str | None = Field(default=None, max_length=10_000)
    num_inference_steps: int | None = Field(default=None, ge=1, le=1000)
    scheduler: str | None = Field(default=None, min_length=1, max_length=200)
    seed: int | None = Field(default=None, ge=0, le=2**64 - 1)


class TextToImageParameters(SamplingParameters):
    """The API's `parameters`; the known ones are checked, unknown ones pass through as given."""

    model_config = ConfigDict(strict=True, extra="allow")

    width: int | None = Field(default=None, ge=64, le=4096)
    height: int | None = Field(default=None, ge=64, le=4096)
    target_size: TargetSize | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_misnamed_keys(cls, values: object) -> object:
        """Unknown keys pass through, except names known to be mistakes for a known one."""
        if isinstance(values, dict):
            for wrong, right in MISNAMED_PARAMETERS.items():
                if wrong in values:
                    raise ValueError(f"{wrong} is not a parameter; did you mean {right}?")
        return values

    @model_validator(mode="after")
    def _fold_target_size(self) -> "TextToImageParameters":
        """Today's API takes flat `width`/`height`; explicit ones win over `target_size`."""
        if self.target_size is not None:
            self.width = self.width or self.target_size.width
            self.height = self.height or self.target_size.height
            self.target_size = None
        return self

    @model_validator(mode="after")
    def _serializable(self) -> "TextToImageParameters":
        """Refuse here what could not be sent later (pydantic stops at values nested deeply)."""
        try:
            self.to_payload()
        except ValueError as error:
            raise ValueError("parameters are nested too deeply to send") from error
        return self

    def to_payload(self) -> dict[str, Any]:
        """The parameters the caller set, as JSON-ready data."""
        return self.model_dump(mode="json", exclude_none=True, exclude={"target_size"})


class JsonDescription(BaseModel):
    """The `json_description` file: which model to call, with which token and options."""

    model_config = ConfigDict(extra="forbid")

    api_token: SecretStr | None = Field(
        default=None,
        description="Hugging Face access token (`hf_...`); optional when the operator set HF_TOKEN.",
    )
    api_url: str | None = Field(
        default=None,
        description="Full URL of the model, router route or Inference Endpoint to call.",
    )
    model: str | None = Field(
        default=None,
        pattern=MODEL_ID_PATTERN,
        description="Model id such as `black-forest-labs/FLUX.1-schnell`, instead of `api_url`.",
    )
    provider: Provider | None = Field(
        default=None,
        description="Inference Provider serving `model`; `auto` asks the Hub for the first live one.",
    )
    parameters: TextToImageParameters = Field(default_factory=TextToImageParameters)
    flat_parameters: bool = Field(
        default=False,
        description="Send `parameters` at the top level of the body (dedicated endpoints).",
    )
    use_cache: bool = Field(default=True, description="`false` sends `x-use-cache: false`.")
    bill_to: str | None = Field(
        default=None,
        pattern=BILL_TO_PATTERN,
        description="A Hub organisation to bill the router calls to (`X-HF-Bill-To`).",
    )
    n: int = Field(
        default=1,
        ge=1,
        le=10,
        description="How many images (seeds seed, seed+1, ...); more than 1 needs a JSON answer.",
    )

    @field_validator("api_token")
    @classmethod
    def _token_not_blank(cls, token: SecretStr | None) -> SecretStr | None:
        if token is None:
            return None
        value = token.get_secret_value().strip()
        if not value:
            raise ValueError("api_token is empty")
        if is_placeholder_token(value):
            raise ValueError(f"api_token {PLACEHOLDER_ADVICE}, or leave api_token out")
        # It goes into an HTTP header: anything else fails there, far from its cause.
        if not (value.isascii() and value.isprintable()) or any(c.isspace() for c in value):
            raise ValueError("api_token must be a single word of printable ASCII characters")
        return token

    @field_validator("model")
    @classmethod
    def _no_dot_segments(cls, model: str | None) -> str | None:
        if model and any(part in (".", "..") for part in model.split(":")[0].split("/")):
            raise ValueError("model may not contain '.' or '..' segments")
        return model

    @model_validator(mode="after")
    def _one_target(self) -> "JsonDescription":
        if not self.api_url and not self.model:
            raise ValueError("give api_url (the model's URL) or model (an id such as org/name)")
        if self.provider and self.api_url:
            raise ValueError("provider goes with model; an api_url already names its provider")
        return self


def _describe_validation_error(error: ValidationError) -> str:
    """One readable line per problem, without echoing the offending values (they may be secret)."""
    problems = []
    for detail in error.errors(include_input=False, include_url=False):
        location = ".".join(str(part) for part in detail["loc"])
        message = detail["msg"].removeprefix("Value error, ")
        problems.append(f"{location}: {message}" if location else message)
    return "; ".join(problems)


def _refuse_constant(name: str) -> None:
    raise InvalidInputError(f"json_description uses {name}, which is not valid JSON.")


def _parse_finite_float(text: str) -> float:
    """A JSON number as a float, refusing ones too large to represent (`1e999` is not inf)."""
    value = float(text)
    if not math.isfinite(value):
        raise InvalidInputError(f"json_description has a number too large to use ({text[:20]}).")
    return value


def description_too_large(max_bytes: int, size: int | None = None) -> str:
    """The refusal of a `json_description` over MAX_DESCRIPTION_BYTES."""
    actual = f" ({size} bytes)" if size is not None else ""
    return (
        f"json_description is larger{actual} than the limit of {max_bytes} bytes "
        "(MAX_DESCRIPTION_BYTES)."
    )


def prompt_too_long(max_length: int, length: int | None = None) -> str:
    """The refusal of a prompt over MAX_PROMPT_LENGTH characters."""
    actual = f" ({length} characters)" if length is not None else ""
    return (
        f"input_text is longer{actual} than the limit of {max_length} characters "
        "(MAX_PROMPT_LENGTH)."
    )


def parse_json_description(raw: bytes, *, max_bytes: int) -> JsonDescription:
    """Validate the `json_description` file, or raise InvalidInputError saying what to fix."""
    if len(raw) > max_bytes:
        raise InvalidInputError(description_too_large(max_bytes, len(raw)))
    try:
        document = json.loads(
            raw.decode("utf-8-sig"),
            parse_constant=_refuse_constant,
            parse_float=_parse_finite_float,
        )
    except UnicodeDecodeError as error:
        raise InvalidInputError("json_description is not UTF-8 text.") from error
    except json.JSONDecodeError as error:
        raise InvalidInputError(
            f"json_description is not valid JSON ({error.msg} at line {error.lineno}, "
            f"column {error.colno})."
        ) from error
    except RecursionError as error:
        raise InvalidInputError("json_description is nested too deeply.") from error
    except ValueError as error:  # an integer of thousands of digits, for one
        raise InvalidInputError("json_description has a number too large to use.") from error
    if not isinstance(document, dict):
        raise InvalidInputError(
            'json_description must be a JSON object such as {"api_token": "hf_...", '
            '"api_url": "https://..."}.'
        )
    try:
        return JsonDescription.model_validate(document)
    except ValidationError as error:
        problems = _describe_validation_error(error)
        end = "" if problems.endswith(("?", ".")) else "."
        raise InvalidInputError(f"json_description is invalid: {problems}{end}") from error


def prompt_byte_limit(max_length: int) -> int:
    """The most bytes an `input_text` of `max_length` characters can take.

    UTF-8 takes at most 4 bytes a character; the rest leaves room for a BOM and whitespace.
    Readers stop there, before decoding anything.
    """
    return 4 * max_length + 16


def parse_prompt(raw: bytes, *, max_length: int) -> str:
    """Decode and trim the `input_text` file, or raise InvalidInputError saying what to fix."""
    if len(raw) > prompt_byte_limit(max_length):
        raise InvalidInputError(prompt_too_long(max_length))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidInputError(
            f"input_text is not UTF-8 text (invalid byte at position {error.start}); "
            "save the prompt as UTF-8."
        ) from error
    if "\x00" in text:
        raise InvalidInputError("input_text contains NUL bytes; send the prompt as plain text.")
    prompt = text.strip()
    if not prompt:
        raise InvalidInputError("input_text is empty; write the prompt in it.")
    if len(prompt) > max_length:
        raise InvalidInputError(prompt_too_long(max_length, len(prompt)))
    return prompt
