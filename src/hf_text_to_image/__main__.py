"""`python -m hf_text_to_image`: serve on SERVICE_PORT."""

import uvicorn

from .config import Settings
from .main import create_app

if __name__ == "__main__":
    settings = Settings()
    uvicorn.run(
        create_app(settings),
        host="0.0.0.0",  # noqa: S104 - a container serves on all interfaces
        port=settings.service_port,
        proxy_headers=True,
    )
