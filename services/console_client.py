"""The console's own OAuth client: first-party, public, PKCE, one exact redirect URI.

Operators sign in to `/console` through keyledger's authorization code flow like any other
application. The client is registered the first time a console sign-in starts on an issuer
(under an advisory lock, so replicas starting together register one). It asks for `openid`
only: its access token proves who signed in, while what they may do comes from their
console roles (services/console_roles.py), so running the flow by hand gains nothing.
"""

from __future__ import annotations

from typing import Final

from schemas.envelope import Metadata
from services.authority import Authority
from services.clients import ClientRecord, ClientRegistration, register_client

__all__ = ["CALLBACK_PATH", "CONSOLE_NAME", "console_client", "redirect_uri"]

CONSOLE_NAME: Final = "keyledger console"
CALLBACK_PATH: Final = "/console/callback"
# The console session lasts as long as its access token (DECISIONS: the console).
SESSION_S: Final = 8 * 3600
_LOCK: Final = 0x6B6C636F6E736F6C  # "klconsol"


def redirect_uri(issuer: str) -> str:
    return issuer.rstrip("/") + CALLBACK_PATH


def _ours(client: ClientRecord, uri: str) -> bool:
    registration = client.registration
    return (
        registration.name == CONSOLE_NAME
        and registration.redirect_uris == (uri,)
        and not registration.confidential
        and registration.scopes == ("openid",)
        and registration.workspace_id is None
    )


async def _find(authority: Authority, uri: str) -> ClientRecord | None:
    return next((c for c in await authority.clients.list() if _ours(c, uri)), None)


async def console_client(authority: Authority) -> ClientRecord:
    """The console client of this issuer, registered now if there is none yet."""
    uri = redirect_uri(authority.issuer)
    found = await _find(authority, uri)
    if found is not None:
        return found
    async with authority.pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK)
        try:
            found = await _find(authority, uri)
            if found is None:
                spec = ClientRegistration(
                    name=CONSOLE_NAME,
                    grant_types=("authorization_code",),
                    scopes=("openid",),
                    redirect_uris=(uri,),
                    confidential=False,
                    access_token_ttl=SESSION_S,
                    token_format="opaque",
                    scope_reasons={"openid": "To know who signs in to the keyledger console."},
                )
                client_id, _ = await register_client(
                    authority.store, authority.hasher, spec, Metadata(actor="system")
                )
                found = await authority.clients.get(client_id)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK)
    assert found is not None
    return found
