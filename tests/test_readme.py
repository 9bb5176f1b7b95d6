"""README's examples agree with the code: every json_description it shows is valid as written."""

import json
import re
from pathlib import Path

import pytest

from hf_text_to_image.errors import InvalidInputError
from hf_text_to_image.inputs import TextToImageParameters, parse_json_description
from hf_text_to_image.service import DESCRIPTION_MARKDOWN

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
# The provider options README names as passed through (Inference Providers).
PROVIDER_OPTIONS = {"output_format", "aspect_ratio"}
A_TOKEN = "hf_ReadmeExampleToken0123456789"


def json_examples(markdown: str) -> list[str]:
    """Every JSON object in the ```json blocks, one or several a block."""
    objects = []
    decoder = json.JSONDecoder()
    for block in re.findall(r"```json\n(.*?)```", markdown, flags=re.DOTALL):
        position = 0
        while position < len(block):
            if block[position].isspace():
                position += 1
                continue
            document, end = decoder.raw_decode(block, position)
            objects.append(json.dumps(document))
            position = end
    return objects


EXAMPLES = [
    *(("README.md", text) for text in json_examples(README)),
    *(("Swagger description", text) for text in json_examples(DESCRIPTION_MARKDOWN)),
    ("examples/local.json", (ROOT / "examples" / "local.json").read_text()),
]


def test_readme_has_the_examples_it_promises() -> None:
    assert len(json_examples(README)) >= 12


@pytest.mark.parametrize(("where", "text"), EXAMPLES)
def test_every_example_parses_and_names_only_documented_parameters(where: str, text: str) -> None:
    description = parse_json_description(text.replace("hf_...", A_TOKEN).encode(), max_bytes=65_536)

    unknown = set(description.parameters.to_payload()) - set(TextToImageParameters.model_fields)
    assert unknown <= PROVIDER_OPTIONS, f"{where}: {unknown}"
    assert "api-inference.huggingface.co" not in (description.api_url or "")


def test_placeholder_token_refused_before_any_call() -> None:
    with pytest.raises(InvalidInputError, match="api_token is the placeholder from the examples"):
        parse_json_description(b'{"api_token": "hf_...", "model": "org/model"}', max_bytes=1024)


def test_misnamed_parameter_refused_with_the_right_name() -> None:
    raw = json.dumps(
        {"api_token": A_TOKEN, "model": "org/model", "parameters": {"inference_steps": 25}}
    ).encode()

    with pytest.raises(InvalidInputError) as caught:
        parse_json_description(raw, max_bytes=1024)

    assert caught.value.message == (
        "json_description is invalid: parameters: inference_steps is not a parameter; "
        "did you mean num_inference_steps?"
    )


def test_every_curl_that_saves_an_answer_fails_loudly() -> None:
    for line in README.splitlines():
        if re.match(r"\s*curl ", line):
            assert "--fail-with-body" in line, line
