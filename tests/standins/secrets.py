"""The secrets the suite uses, and how to spot them in any text."""

import re

# Every Hugging Face token the suite uses has this shape; the S3 secrets are listed.
TOKEN_PATTERN = re.compile(r"hf_[A-Za-z0-9]{8,}")
S3_SECRETS = ("minio123", "VerySecretS3Key", "WrongSecretKey")


def find_secrets(text: str) -> list[str]:
    return TOKEN_PATTERN.findall(text) + [secret for secret in S3_SECRETS if secret in text]
