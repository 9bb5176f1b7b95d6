"""Property: whatever the prompt, it reaches the API exactly as the user wrote it."""

import json

from hypothesis import given
from hypothesis import strategies as st

from hf_text_to_image.huggingface.payloads import build_request
from hf_text_to_image.huggingface.providers import KNOWN_PARAMETERS
from hf_text_to_image.huggingface.routing import route_for_hf_inference
from hf_text_to_image.inputs import MISNAMED_PARAMETERS, JsonDescription, parse_prompt

ROUTE = route_for_hf_inference("org/model", "https://router.huggingface.co/hf-inference/models/")
DESCRIPTION = JsonDescription(api_token="hf_PropertyToken123456", model="org/model")
prompts = (
    st.text(min_size=1, max_size=500)
    .map(str.strip)
    .filter(lambda text: text and "\x00" not in text and not text.startswith("\ufeff"))
)


@given(prompts)
def test_any_prompt_round_trips_through_file_and_body(prompt: str) -> None:
    parsed = parse_prompt(prompt.encode("utf-8"), max_length=1000)
    assert parsed == prompt
    request = build_request(ROUTE, DESCRIPTION, parsed, "hf_PropertyToken123456")
    assert json.loads(request.body)["inputs"] == prompt


@given(
    prompts,
    st.dictionaries(
        st.text(max_size=20).filter(
            # Hypothesis also tries the code's own strings: the misnamed keys are refused.
            lambda key: (
                key not in KNOWN_PARAMETERS | MISNAMED_PARAMETERS.keys() | {"target_size", "inputs"}
            )
        ),
        st.text(max_size=50),
        max_size=5,
    ),
)
def test_flat_parameters_never_replace_the_prompt(prompt: str, extra: dict[str, str]) -> None:
    description = JsonDescription(
        api_token="hf_PropertyToken123456",
        model="org/model",
        flat_parameters=True,
        parameters=extra,
    )
    request = build_request(ROUTE, description, prompt, "hf_PropertyToken123456")
    body = json.loads(request.body)
    assert body["inputs"] == prompt
    assert {key: body[key] for key in extra} == extra
