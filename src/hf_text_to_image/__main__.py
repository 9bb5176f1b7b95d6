"""`python -m hf_text_to_image`: serve the service with uvicorn (`--help` lists the options)."""

import argparse
import os
import sys

import uvicorn

from .startup import load_settings

# Each option and the environment variable it defaults from (uvicorn's own names for
# host and workers, so that `uvicorn main:app` reads the same ones).
HOST_ENV = "UVICORN_HOST"
PORT_ENV = "SERVICE_PORT"
WORKERS_ENV = "WEB_CONCURRENCY"
LOG_LEVEL_ENV = "LOG_LEVEL"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m hf_text_to_image",
        description="Serve the Hugging Face text-to-image service. Every other setting comes "
        "from the environment or .env (see .env); an option wins over its variable.",
    )
    parser.add_argument(
        "--host",
        default=os.environ.get(HOST_ENV, "0.0.0.0"),  # noqa: S104 - a container serves on all
        help=f"address to listen on [env {HOST_ENV}; default 0.0.0.0]",
    )
    parser.add_argument(
        "--port",
        type=int,
        help=f"port to listen on [env {PORT_ENV}; default 9090]",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.environ.get(WORKERS_ENV, "1"),  # argparse applies `type` to it
        help=f"worker processes, each with its own queue and metrics [env {WORKERS_ENV}; "
        "default 1]",
    )
    parser.add_argument(
        "--log-level",
        type=str.lower,
        choices=LOG_LEVELS,
        help=f"log level, in any case [env {LOG_LEVEL_ENV}; default info]",
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    arguments = build_parser().parse_args(argv)
    # The options win over the environment, for this process and its workers alike.
    if arguments.port is not None:
        os.environ[PORT_ENV] = str(arguments.port)
    if arguments.log_level is not None:
        os.environ[LOG_LEVEL_ENV] = arguments.log_level
    settings = load_settings()
    if arguments.workers < 1:
        print(f"--workers ({WORKERS_ENV}) must be 1 or more.", file=sys.stderr)
        raise SystemExit(2)
    # One worker serves the app built here; more import it themselves, from the same environment.
    app: object = "hf_text_to_image.main:create_app"
    if arguments.workers == 1:
        from .main import create_app

        app = create_app(settings)
    uvicorn.run(
        app,  # type: ignore[arg-type]
        factory=arguments.workers > 1,
        workers=arguments.workers,
        host=arguments.host,
        port=settings.service_port,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
    )


if __name__ == "__main__":
    main()
