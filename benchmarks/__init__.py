"""How close the service comes to the bound its upstream sets: `python -m benchmarks`.

Not part of the test suite. It starts loopback stand-ins (a Hugging Face API and a core
engine, in a process of their own) and the service as a real uvicorn process, drives them
from this process, stops everything it started, and prints a table and one JSON line.
"""
