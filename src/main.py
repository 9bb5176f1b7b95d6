"""Entry point in the Swiss AI Center habit: `cd src && uvicorn main:app`."""

from pathlib import Path

from hf_text_to_image.main import create_app
from hf_text_to_image.startup import load_settings

# The checkout's `.env`, beside `src/`, from whichever directory uvicorn starts (the root with
# `--app-dir src`, or `src/`). The image holds none: its settings come from the environment.
REPOSITORY_ENV_FILE = Path(__file__).resolve().parent.parent / ".env"

app = create_app(load_settings(REPOSITORY_ENV_FILE))
