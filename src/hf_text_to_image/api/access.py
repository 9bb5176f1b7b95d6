"""The direct endpoints' key policy, as a FastAPI dependency: who may use HF_TOKEN."""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..access import TokenGrant, grant_for_caller
from ..errors import AccessRefusedError
from .deps import SettingsDep

# Documents the header in the OpenAPI schema (Swagger UI's "Authorize"); checked below.
BEARER = HTTPBearer(
    auto_error=False,
    description="An API key from the operator, needed only to use the service's own token.",
)
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]


def token_grant(
    *,
    bearer_is_hf_token: bool = False,
    how_to_bring_one: str = "add your own Hugging Face token as api_token in json_description",
) -> Callable[..., Awaitable[TokenGrant]]:
    """A dependency deciding which token a request may use, from its Authorization header.

    With `bearer_is_hf_token`, a bearer that is no API key is the caller's Hugging Face token
    (an endpoint where callers send it that way); otherwise it is refused with 401.
    `how_to_bring_one` tells a refused caller how to send a token of their own.
    """

    async def grant(request: Request, credentials: BearerDep, settings: SettingsDep) -> TokenGrant:
        if credentials is None and "authorization" in request.headers:
            raise AccessRefusedError(
                "The Authorization header must be 'Bearer <key>' (or be left out)."
            )
        return grant_for_caller(
            credentials.credentials if credentials else None,
            hf_token=settings.hf_token,
            key_hashes=settings.api_key_hashes,
            bearer_is_hf_token=bearer_is_hf_token,
            how_to_bring_one=how_to_bring_one,
        )

    return grant


DirectGrantDep = Annotated[TokenGrant, Depends(token_grant())]
