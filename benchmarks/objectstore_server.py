"""`python -m benchmarks.objectstore_server --port N`: moto's S3 alone, on 127.0.0.1.

moto's own server finds the service of every request among all of AWS's (a scan of its
modules and a few hundred URL patterns, under one lock) and logs each request: more than
half of its CPU, on the 2 cores the service is measured on. This serves moto's S3 backend
app alone (the same S3 implementation, the same SigV4 requests) with its request handler,
quietly; the bucket's CPU per task is still counted and discounted (Performance).
"""

import argparse
from typing import Any

from moto.moto_server.werkzeug_app import MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


class QuietHandler(MotoRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        """No line per request: the benchmark counts the bucket's CPU, not its log's."""


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.objectstore_server")
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    run_simple(
        "127.0.0.1", port, create_backend_app("s3"), threaded=True, request_handler=QuietHandler
    )


if __name__ == "__main__":
    main()
