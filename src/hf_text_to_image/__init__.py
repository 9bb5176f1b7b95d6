"""Swiss AI Center service: a prompt in, a PNG out, through the Hugging Face inference APIs."""

__version__ = "1.0.0"
