"""Loopback stand-ins that speak the real protocols: Hugging Face API, core engine, servers."""
