"""Calling the Hugging Face inference APIs: build the request, send it, decode the answer."""
