"""Entry point in the Swiss AI Center habit: `cd src && uvicorn main:app`."""

from hf_text_to_image.main import create_app

app = create_app()
