"""What the service is (its description for engines and docs) and what it does with two files."""

from .access import TokenGrant
from .config import Settings
from .engine.models import FieldDescription, ServiceDescription, Tag
from .generation import check_image_count, generate_images
from .huggingface.client import GeneratedImage, HuggingFaceClient
from .huggingface.providers import PROVIDER_NAMES
from .inputs import JsonDescription, parse_json_description, parse_prompt

NAME = "Hugging Face text-to-image"
SLUG = "hugging-face-text-to-image"
SUMMARY = "Generates a PNG image from a text prompt with a Hugging Face text-to-image model."
DOCS_URL = "https://docs.swiss-ai-center.ch/reference/services/hugging-face-text-to-image/"
INPUT_FIELDS = ("json_description", "input_text")
OUTPUT_FIELD = "result"

DESCRIPTION_EXAMPLE = '{"api_token": "hf_...", "api_url": "https://router.huggingface.co/hf-inference/models/stabilityai/stable-diffusion-3-medium-diffusers"}'
PROMPT_EXAMPLE = "A majestic hummingbird, watercolor"
# `hf-inference`, `fal-ai`, ... or `zai-org`: the providers a caller may name besides `auto`.
NAMED_PROVIDERS = ", ".join(f"`{name}`" for name in PROVIDER_NAMES[1:-1]) + (
    f" or `{PROVIDER_NAMES[-1]}`"
)

DESCRIPTION_MARKDOWN = f"""
This service sends a prompt to a Hugging Face text-to-image model and returns the image as a PNG.

It takes two files:

- `json_description` (JSON): which model to call and with which token;
- `input_text` (plain text, UTF-8): the prompt.

The image is always returned as a real PNG, whatever format the model answered in.

### json_description

| key | required | meaning |
|---|---|---|
| `api_token` | yes, unless the operator set a default token | your Hugging Face access token (`hf_...`) with the "Make calls to Inference Providers" permission |
| `api_url` | `api_url` or `model` | the URL to call: a router URL, an Inference Endpoint; the retired `https://api-inference.huggingface.co/models/...` form is rewritten to the router |
| `model` | `api_url` or `model` | a model id such as `black-forest-labs/FLUX.1-dev` |
| `provider` | no | with `model`: `auto` (the first live Inference Provider, the next live one when it is down), {NAMED_PROVIDERS} |
| `parameters` | no | `guidance_scale` (0-100), `negative_prompt`, `num_inference_steps` (1-1000), `width` and `height` (64-4096), `scheduler`, `seed`; the older `target_size: {{"width", "height"}}` is accepted; other keys are passed through |
| `flat_parameters` | no | `true` sends the parameters beside `inputs` instead of under `parameters`, for endpoints that expect them there |
| `use_cache` | no | `false` asks the API not to answer from its cache |
| `bill_to` | no | a Hub organisation billed for the call (`X-HF-Bill-To`, router calls only) |
| `n` | no | 1 for an engine task; `POST /process` with a JSON answer makes up to 10 (seeds seed, seed+1, ...) |

Every PNG carries its prompt, parameters, seed and model as text chunks (the Stable Diffusion
web UIs' `parameters`, and a JSON record); a seed is chosen when none is given.

Example:

```json
{DESCRIPTION_EXAMPLE}
```

With parameters, for a dedicated endpoint that takes them flat:

```json
{{"api_token": "hf_...", "api_url": "https://xyz.us-east-1.aws.endpoints.huggingface.cloud",
 "flat_parameters": true,
 "parameters": {{"negative_prompt": "blurry", "width": 512, "height": 512, "guidance_scale": 7.5,
                "num_inference_steps": 25}}}}
```

### input_text

```
{PROMPT_EXAMPLE}
```

Errors say what to fix: a wrong token (401), a token without permission or a gated model (403),
credits used up (402), a model that is no longer served (404/410), bad parameters (400/422).
""".strip()


def describe_service(settings: Settings) -> ServiceDescription:
    """The description an engine registers, pointing at this instance's public URL."""
    return ServiceDescription(
        name=NAME,
        slug=SLUG,
        url=settings.service_url_string,
        summary=SUMMARY,
        description=DESCRIPTION_MARKDOWN,
        data_in_fields=[
            FieldDescription(name="json_description", type=["application/json"]),
            FieldDescription(name="input_text", type=["text/plain"]),
        ],
        data_out_fields=[FieldDescription(name=OUTPUT_FIELD, type=["image/png"])],
        tags=[
            Tag(name="Natural Language Processing", acronym="NLP"),
            Tag(name="Image Generation", acronym="IG"),
        ],
        has_ai=True,
        docs_url=DOCS_URL,
    )


def parse_files(
    raw_description: bytes, raw_prompt: bytes, settings: Settings
) -> tuple[JsonDescription, str]:
    """The two input files, checked: what to call and the prompt."""
    description = parse_json_description(raw_description, max_bytes=settings.max_description_bytes)
    return description, parse_prompt(raw_prompt, max_length=settings.max_prompt_length)


async def generate_from_files(
    raw_description: bytes,
    raw_prompt: bytes,
    hf: HuggingFaceClient,
    settings: Settings,
    grant: TokenGrant,
) -> GeneratedImage:
    """An engine task's whole job: the two input files in, one checked PNG out."""
    description, prompt = parse_files(raw_description, raw_prompt, settings)
    check_image_count(description, 1, "an engine task makes one image (its output is one PNG)")
    (image,) = await generate_images(
        description, prompt, hf, grant, provenance=settings.png_provenance
    )
    return image
