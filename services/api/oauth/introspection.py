"""Token introspection (RFC 7662), at /oauth/introspect and /oauth/token/introspect.

The caller authenticates as a confidential client. It learns about its own tokens; a
resource server client with the `keyledger:introspect` scope learns about any token.
Anything else, and every unknown, revoked, expired or malformed token, is `active: false`.
"""

from __future__ import annotations

from typing import Final

import msgspec

from services.api.oauth.client_auth import authenticate_client
from services.api.oauth.endpoint import OAuthRequest, json_post_endpoint
from services.api.oauth.params import read_params
from services.authority import Authority
from services.introspection import Introspection

__all__ = ["INTROSPECT_SCOPE", "introspect_token"]

INTROSPECT_SCOPE: Final = "keyledger:introspect"
_encoder: Final = msgspec.json.Encoder()
_INACTIVE: Final = _encoder.encode(Introspection(active=False))


async def introspection_response(request: OAuthRequest, authority: Authority) -> bytes:
    """RFC 7662 section 2.2."""
    params = await read_params(request)
    caller = await authenticate_client(
        authority, request, params, endpoint="introspection", allow_public=False
    )
    body = _INACTIVE
    token = params.get("token")
    if token:
        answer, record = await authority.tokens.introspect(token, authority.issuer)
        if record is not None and (
            record.client_id == caller.client_id or INTROSPECT_SCOPE in caller.registration.scopes
        ):
            body = _encoder.encode(answer)
    return body


introspect_token = json_post_endpoint(
    ["/oauth/introspect", "/oauth/token/introspect"], introspection_response, "introspect_token"
)
