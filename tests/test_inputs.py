"""The caller's two files: `json_description` and `input_text`."""

import json
from typing import Any

import pytest

from hf_text_to_image.errors import InvalidInputError
from hf_text_to_image.inputs import JsonDescription, parse_json_description, parse_prompt

TOKEN = "hf_SECRETtoken1234567890"
ROUTER_URL = "https://router.huggingface.co/hf-inference/models/stabilityai/stable-diffusion-3-medium-diffusers"
MAX_BYTES = 65_536


def describe(document: Any) -> JsonDescription:
    return parse_json_description(json.dumps(document).encode(), max_bytes=MAX_BYTES)


def refusal(raw: bytes, *, max_bytes: int = MAX_BYTES) -> str:
    """The message of the InvalidInputError that `raw` raises; it must never show the token."""
    with pytest.raises(InvalidInputError) as caught:
        parse_json_description(raw, max_bytes=max_bytes)
    message = caught.value.message
    assert TOKEN not in message
    assert "SECRET" not in message
    return message


def refusal_of(document: Any) -> str:
    return refusal(json.dumps(document).encode())


def with_parameters(**parameters: Any) -> dict[str, Any]:
    return {"api_token": TOKEN, "model": "org/model", "parameters": parameters}


# json_description: the target


def test_parse_description_seed_form() -> None:
    description = describe({"api_token": TOKEN, "api_url": ROUTER_URL})

    assert description.api_token is not None
    assert description.api_token.get_secret_value() == TOKEN
    assert description.api_url == ROUTER_URL
    assert description.model is None
    assert description.parameters.to_payload() == {}
    assert description.flat_parameters is False
    assert description.use_cache is True


def test_parse_description_token_hidden_in_repr() -> None:
    description = describe({"api_token": TOKEN, "api_url": ROUTER_URL})

    assert TOKEN not in repr(description)
    assert TOKEN not in str(description.model_dump())


def test_parse_description_model_instead_of_url() -> None:
    description = describe({"api_token": TOKEN, "model": "black-forest-labs/FLUX.1-schnell"})

    assert description.model == "black-forest-labs/FLUX.1-schnell"
    assert description.api_url is None


@pytest.mark.parametrize(
    "document", [{"model": "org/model"}, {"model": "org/model", "api_token": None}]
)
def test_parse_description_token_optional(document: dict[str, Any]) -> None:
    description = describe(document)

    assert description.api_token is None


def test_parse_description_utf8_bom_tolerated() -> None:
    raw = b"\xef\xbb\xbf" + json.dumps({"api_token": TOKEN, "model": "org/model"}).encode()

    description = parse_json_description(raw, max_bytes=MAX_BYTES)

    assert description.model == "org/model"


def test_parse_description_model_beside_api_url_left_to_routing() -> None:
    """A router URL for together/nscale/zai-org names no model: `model` may go beside it."""
    description = parse_json_description(
        json.dumps({"api_token": TOKEN, "api_url": ROUTER_URL, "model": "org/model"}).encode(),
        max_bytes=MAX_BYTES,
    )

    assert (description.api_url, description.model) == (ROUTER_URL, "org/model")


def test_parse_description_provider_with_api_url_refused() -> None:
    message = refusal_of({"api_token": TOKEN, "api_url": ROUTER_URL, "provider": "fal-ai"})

    assert "provider goes with model" in message


@pytest.mark.parametrize("model", ["no-slash", "org/name:version", "black-forest-labs/FLUX.1-dev"])
def test_parse_description_provider_model_ids_accepted(model: str) -> None:
    raw = json.dumps({"api_token": TOKEN, "model": model}).encode()

    assert parse_json_description(raw, max_bytes=MAX_BYTES).model == model


def test_parse_description_no_target_refused() -> None:
    message = refusal_of({"api_token": TOKEN})

    assert "give api_url" in message
    assert "or model" in message


@pytest.mark.parametrize("model", ["/leading", "org/", "org/name/extra", "org/na me", "org/.."])
def test_parse_description_bad_model_id_refused(model: str) -> None:
    message = refusal_of({"api_token": TOKEN, "model": model})

    assert message.startswith("json_description is invalid: model:")


@pytest.mark.parametrize("token", ["", "   ", "\t\n"])
def test_parse_description_empty_token_refused(token: str) -> None:
    message = refusal_of({"api_token": token, "api_url": ROUTER_URL})

    assert "api_token is empty" in message


@pytest.mark.parametrize(
    "token", [f"{TOKEN}é", "hf_SECRET\ntoken", f"hf_SECRET token{TOKEN}", "hf_SECRET\x00x"]
)
def test_parse_description_token_unfit_for_header_refused(token: str) -> None:
    message = refusal_of({"api_token": token, "api_url": ROUTER_URL})

    assert "api_token" in message
    assert "printable ASCII" in message


def test_parse_description_token_surrounding_whitespace_tolerated() -> None:
    description = describe({"api_token": f"  {TOKEN}\n", "model": "org/model"})

    assert description.api_token is not None
    assert description.api_token.get_secret_value().strip() == TOKEN


def test_parse_description_token_wrong_type_refused() -> None:
    message = refusal_of({"api_token": 12345, "api_url": ROUTER_URL})

    assert message == "json_description is invalid: api_token: Input should be a valid string."


# json_description: the JSON itself


def test_parse_description_invalid_json_names_line_and_column() -> None:
    raw = f'{{\n  "api_token": "{TOKEN}"\n  "api_url": "{ROUTER_URL}"\n}}'.encode()

    message = refusal(raw)

    assert message.startswith("json_description is not valid JSON (")
    assert "line 3, column 3" in message


def test_parse_description_trailing_comma_refused() -> None:
    message = refusal(f'{{"api_token": "{TOKEN}", "model": "org/model",}}'.encode())

    assert "not valid JSON" in message
    assert "line 1" in message


def test_parse_description_empty_file_refused() -> None:
    message = refusal(b"")

    assert message == "json_description is not valid JSON (Expecting value at line 1, column 1)."


def test_parse_description_not_utf8_refused() -> None:
    raw = f'{{"api_token": "{TOKEN}", "model": "caf\xe9/x"}}'.encode("latin-1")

    message = refusal(raw)

    assert message == "json_description is not UTF-8 text."


@pytest.mark.parametrize(
    "raw", [b"[]", b'"hf_SECRETtoken1234567890"', b"42", b"null", b'[{"api_token": "x"}]']
)
def test_parse_description_not_object_refused(raw: bytes) -> None:
    message = refusal(raw)

    assert message.startswith("json_description must be a JSON object")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_parse_description_nan_refused(constant: str) -> None:
    raw = f'{{"api_token": "{TOKEN}", "model": "org/model", "parameters": {{"guidance_scale": {constant}}}}}'

    message = refusal(raw.encode())

    assert message == f"json_description uses {constant}, which is not valid JSON."


@pytest.mark.parametrize("number", ["1e999", "-1e999"])
def test_parse_description_overflowing_number_refused(number: str) -> None:
    raw = (
        f'{{"api_token": "{TOKEN}", "model": "org/model", "parameters": {{"strength": {number}}}}}'
    )

    message = refusal(raw.encode())

    assert "number too large" in message


def test_parse_description_huge_integer_refused() -> None:
    raw = (
        f'{{"api_token": "{TOKEN}", "model": "org/model", "parameters": {{"seed": {"9" * 5000}}}}}'
    )

    message = refusal(raw.encode())

    assert message == "json_description has a number too large to use."


def test_parse_description_deep_nesting_refused() -> None:
    message = refusal(b"[" * 5000 + b"]" * 5000)

    assert message == "json_description is nested too deeply."


def test_parse_description_deep_parameter_refused() -> None:
    nested = "[" * 600 + "]" * 600
    raw = f'{{"api_token": "{TOKEN}", "model": "org/model", "parameters": {{"extra": {nested}}}}}'

    message = refusal(raw.encode())

    assert (
        message
        == "json_description is invalid: parameters: parameters are nested too deeply to send."
    )


def test_parse_description_over_max_bytes_refused() -> None:
    raw = json.dumps({"api_token": TOKEN, "model": "org/model", "pad": "x" * 500}).encode()

    message = refusal(raw, max_bytes=256)

    assert message == (
        f"json_description is larger ({len(raw)} bytes) than the limit of 256 bytes "
        "(MAX_DESCRIPTION_BYTES)."
    )


@pytest.mark.parametrize("key", ["token", "api-url", "parameter", "hf_token"])
def test_parse_description_unknown_key_refused(key: str) -> None:
    message = refusal_of({"api_token": TOKEN, "model": "org/model", key: TOKEN})

    assert message == f"json_description is invalid: {key}: Extra inputs are not permitted."


def test_parse_description_several_problems_listed() -> None:
    message = refusal_of(
        {"api_token": TOKEN, "model": "org/model", "parameters": {"width": "512", "seed": -1}}
    )

    assert "parameters.width: Input should be a valid integer" in message
    assert "parameters.seed: Input should be greater than or equal to 0" in message
    assert "; " in message


# json_description: parameters


def test_parse_description_parameters_kept() -> None:
    description = describe(
        with_parameters(
            guidance_scale=7.5,
            negative_prompt="blurry",
            num_inference_steps=25,
            width=512,
            height=768,
            scheduler="DPMSolverMultistepScheduler",
            seed=2**64 - 1,
        )
    )

    assert description.parameters.to_payload() == {
        "guidance_scale": 7.5,
        "negative_prompt": "blurry",
        "num_inference_steps": 25,
        "width": 512,
        "height": 768,
        "scheduler": "DPMSolverMultistepScheduler",
        "seed": 2**64 - 1,
    }


def test_parse_description_integer_guidance_scale_accepted() -> None:
    description = describe(with_parameters(guidance_scale=7))

    assert description.parameters.to_payload() == {"guidance_scale": 7}


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("width", "512", "Input should be a valid integer"),
        ("width", True, "Input should be a valid integer"),
        ("width", 512.0, "Input should be a valid integer"),
        ("height", [512], "Input should be a valid integer"),
        ("num_inference_steps", False, "Input should be a valid integer"),
        ("seed", "42", "Input should be a valid integer"),
        ("guidance_scale", "7.5", "Input should be a valid number"),
        ("guidance_scale", True, "Input should be a valid number"),
        ("negative_prompt", ["blurry"], "Input should be a valid string"),
        ("scheduler", 3, "Input should be a valid string"),
    ],
)
def test_parse_description_parameter_wrong_type_refused(
    name: str, value: Any, problem: str
) -> None:
    message = refusal_of(with_parameters(**{name: value}))

    assert message == f"json_description is invalid: parameters.{name}: {problem}."


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("width", 63, "greater than or equal to 64"),
        ("width", 4097, "less than or equal to 4096"),
        ("height", 0, "greater than or equal to 64"),
        ("num_inference_steps", 0, "greater than or equal to 1"),
        ("num_inference_steps", 1001, "less than or equal to 1000"),
        ("guidance_scale", -0.1, "greater than or equal to 0"),
        ("guidance_scale", 100.5, "less than or equal to 100"),
        ("seed", -1, "greater than or equal to 0"),
        ("seed", 2**64, "less than or equal to 18446744073709551615"),
        ("scheduler", "", "at least 1 character"),
        ("negative_prompt", "x" * 10_001, "at most 10000 characters"),
    ],
)
def test_parse_description_parameter_out_of_range_refused(
    name: str, value: Any, problem: str
) -> None:
    message = refusal_of(with_parameters(**{name: value}))

    assert message.startswith(f"json_description is invalid: parameters.{name}: ")
    assert problem in message


@pytest.mark.parametrize(("name", "value"), [("width", 64), ("width", 4096), ("height", 4096)])
def test_parse_description_parameter_range_bounds_accepted(name: str, value: int) -> None:
    description = describe(with_parameters(**{name: value}))

    assert description.parameters.to_payload() == {name: value}


def test_parse_description_target_size_folded() -> None:
    description = describe(with_parameters(target_size={"width": 640, "height": 480}))

    assert description.parameters.width == 640
    assert description.parameters.height == 480
    assert description.parameters.target_size is None
    assert description.parameters.to_payload() == {"width": 640, "height": 480}


def test_parse_description_explicit_size_wins_over_target_size() -> None:
    description = describe(with_parameters(width=1024, target_size={"width": 640, "height": 480}))

    assert description.parameters.to_payload() == {"width": 1024, "height": 480}


@pytest.mark.parametrize(
    ("target_size", "problem"),
    [
        ({"width": 640}, "parameters.target_size.height: Field required"),
        (
            {"width": 640, "height": "480"},
            "parameters.target_size.height: Input should be a valid integer",
        ),
        ({"width": 640, "height": 480, "depth": 3}, "parameters.target_size.depth: Extra inputs"),
        ({"width": 32, "height": 480}, "parameters.target_size.width: Input should be greater"),
    ],
)
def test_parse_description_bad_target_size_refused(
    target_size: dict[str, Any], problem: str
) -> None:
    message = refusal_of(with_parameters(target_size=target_size))

    assert problem in message


def test_parse_description_unknown_parameters_passed_through() -> None:
    extra = {
        "lora_scale": 0.8,
        "output_format": "png",
        "lora": {"scale": 0.8, "names": ["a", "b"]},
        "strength": None,
    }

    description = describe(with_parameters(width=512, **extra))

    assert description.parameters.to_payload() == {
        "width": 512,
        "lora_scale": 0.8,
        "output_format": "png",
        "lora": {"scale": 0.8, "names": ["a", "b"]},
    }


def test_parse_description_parameters_not_object_refused() -> None:
    message = refusal_of({"api_token": TOKEN, "model": "org/model", "parameters": [1, 2]})

    assert message.startswith("json_description is invalid: parameters:")


def test_parse_description_flags_read() -> None:
    description = describe(
        {"api_token": TOKEN, "model": "org/model", "flat_parameters": True, "use_cache": False}
    )

    assert description.flat_parameters is True
    assert description.use_cache is False


# input_text


def test_parse_prompt_plain() -> None:
    assert parse_prompt(b"A majestic Hummingbird", max_length=100) == "A majestic Hummingbird"


def test_parse_prompt_bom_tolerated() -> None:
    assert parse_prompt(b"\xef\xbb\xbfA cat", max_length=100) == "A cat"


def test_parse_prompt_trimmed() -> None:
    assert parse_prompt(b"\n\t  A cat\r\n  on a mat \n\n", max_length=100) == "A cat\r\n  on a mat"


def test_parse_prompt_unicode_kept() -> None:
    prompt = "一只猫 🐈 قطة «chat»"

    assert parse_prompt(prompt.encode(), max_length=100) == prompt


@pytest.mark.parametrize("raw", [b"", b"   ", b"\n\r\n\t", b"\xef\xbb\xbf  \n"])
def test_parse_prompt_empty_refused(raw: bytes) -> None:
    with pytest.raises(InvalidInputError, match="input_text is empty"):
        parse_prompt(raw, max_length=100)


def test_parse_prompt_nul_refused() -> None:
    with pytest.raises(InvalidInputError, match="input_text contains NUL bytes"):
        parse_prompt(b"A cat\x00 on a mat", max_length=100)


@pytest.mark.parametrize(
    ("raw", "position"), [(b"caf\xe9 au lait", 3), (b"\xff\xfeA\x00", 0), (b"ok \xc3", 3)]
)
def test_parse_prompt_not_utf8_refused(raw: bytes, position: int) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_prompt(raw, max_length=100)

    assert caught.value.message == (
        f"input_text is not UTF-8 text (invalid byte at position {position}); "
        "save the prompt as UTF-8."
    )


def test_parse_prompt_at_max_length_accepted() -> None:
    assert parse_prompt("é".encode() * 10, max_length=10) == "é" * 10


def test_parse_prompt_over_max_length_refused() -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_prompt(b"x" * 11, max_length=10)

    assert caught.value.message == (
        "input_text is longer (11 characters) than the limit of 10 characters (MAX_PROMPT_LENGTH)."
    )


def test_parse_prompt_length_counted_after_trimming() -> None:
    assert parse_prompt(b"   " + b"x" * 10 + b"\n\n", max_length=10) == "x" * 10


def test_parse_prompt_huge_input_refused_before_decoding() -> None:
    # Not UTF-8 at all: the size check must come first, so the message is about size.
    raw = b"\xff" * (4 * 10 + 17)

    with pytest.raises(InvalidInputError) as caught:
        parse_prompt(raw, max_length=10)

    assert (
        caught.value.message
        == "input_text is longer than the limit of 10 characters (MAX_PROMPT_LENGTH)."
    )


def test_parse_prompt_four_byte_characters_at_limit_accepted() -> None:
    prompt = "🐈" * 10

    assert parse_prompt(b"\xef\xbb\xbf" + prompt.encode() + b"\n", max_length=10) == prompt
