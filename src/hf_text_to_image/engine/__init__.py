"""Talking to Swiss AI Center core engines: wire models, calls, registration loops."""
