"""Consent withdrawal by the user: `DELETE /oauth/consents/{client_id}` with their own token.

The caller presents a live access token (RFC 6750) that acts for a user and was issued to
`client_id`: a client lets its user disconnect it, and the token proves both who the user is
and that this client holds their consent. Every token of that user for that client stops
working in the same commit (the token presented too), and resource servers are told
(a `user_client` revocation). Administrators use `DELETE /manage/users/{u}/consents/{c}`.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, delete
from litestar.params import FromPath

from services.api.bearer import live_access_token
from services.api.oauth.endpoint import request_metadata
from services.authority import Authority
from services.consents import withdraw_consent as withdraw
from services.refusals import Refused

__all__ = ["withdraw_consent"]


@delete("/oauth/consents/{client_id:str}", status_code=204)
async def withdraw_consent(request: Request[Any, Any, Any], client_id: FromPath[str]) -> None:
    authority: Authority = request.app.state.authority
    record = await live_access_token(request)
    if record.subject is None:
        raise Refused("invalid_token", "the access token acts for no user")
    if record.client_id != client_id:
        raise Refused("access_denied", "a token withdraws only its own client's consent")
    user_id = record.subject
    metadata = msgspec.structs.replace(
        request_metadata(request, client_id, "user"), actor_id=user_id, subject_user=user_id
    )
    if not await withdraw(authority, user_id, client_id, metadata):
        raise Refused("not_found", "there is no consent to withdraw")
