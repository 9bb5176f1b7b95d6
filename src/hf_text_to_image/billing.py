"""Who pays for an image: `X-HF-Bill-To`, the organisation billed for router calls."""

import httpx

# A Hub organisation's name, as the header carries it.
BILL_TO_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$"


def bill_to_for(
    url: httpx.URL, router_url: str, asked: str | None, default: str | None
) -> str | None:
    """The organisation to bill for a call to `url`: only router calls carry it.

    The caller's `bill_to` wins over the operator's `HF_BILL_TO`; an Inference Endpoint or a
    Space bills its owner, whatever the header says, so it is not sent there.
    """
    router = httpx.URL(router_url)
    if (url.scheme, url.host, url.port) != (router.scheme, router.host, router.port):
        return None
    return asked or default
