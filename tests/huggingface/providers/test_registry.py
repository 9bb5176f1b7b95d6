"""The registry: names, default download hosts, the README's table, all from the adapters."""

from pathlib import Path
from typing import get_args

from hf_text_to_image.config import Settings
from hf_text_to_image.huggingface.providers import (
    ADAPTERS,
    DEFAULT_CDN_HOSTS,
    PROVIDER_NAMES,
    Provider,
    readme_table,
)
from hf_text_to_image.service import DESCRIPTION_MARKDOWN

README = Path(__file__).resolve().parents[3] / "README.md"


def test_provider_names_accepted_are_the_adapters() -> None:
    assert ("auto", *ADAPTERS) == PROVIDER_NAMES
    assert get_args(Provider) == PROVIDER_NAMES


def test_readme_table_is_the_adapters() -> None:
    assert readme_table() in README.read_text(encoding="utf-8")


def test_every_name_is_documented_for_callers() -> None:
    readme = README.read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith("| `provider` |"))
    for name in PROVIDER_NAMES:
        assert f"`{name}`" in row
        assert f"`{name}`" in DESCRIPTION_MARKDOWN


def test_default_download_hosts_are_the_adapters() -> None:
    assert set(DEFAULT_CDN_HOSTS) == {h for a in ADAPTERS.values() for h in a.cdn_hosts}
    assert Settings(_env_file=None).provider_cdn_hosts == list(DEFAULT_CDN_HOSTS)
