"""A provider's endpoints from its metadata (RFC 8414, OpenID Connect Discovery 1.0 section 4).

https://www.rfc-editor.org/rfc/rfc8414#section-3  The issuer in the document must be exactly
the one asked about (section 3.3), or anyone able to serve a document could name endpoints.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit, urlunsplit

import httpx
import msgspec

from domain.policies.redirect_uris import registrable
from infra.upstream.http import Answer, exchange

__all__ = ["DiscoveryError", "ProviderMetadata", "discover"]

_OIDC: Final = "/.well-known/openid-configuration"
_OAUTH: Final = "/.well-known/oauth-authorization-server"


class DiscoveryError(Exception):
    """No usable metadata at the issuer; the message says why, in words an operator can act on."""


class ProviderMetadata(msgspec.Struct, frozen=True, kw_only=True):
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    revocation_endpoint: str | None = None
    introspection_endpoint: str | None = None
    userinfo_endpoint: str | None = None
    jwks_uri: str | None = None
    code_challenge_methods_supported: list[str] | None = None
    authorization_response_iss_parameter_supported: bool = False


_decoder: Final = msgspec.json.Decoder(ProviderMetadata)


def _candidates(issuer: str) -> list[str]:
    """OIDC appends its well-known path to the issuer; RFC 8414 inserts its own before the
    issuer's path (section 3.1). Both are tried, OIDC's first."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    oauth = urlunsplit(parts._replace(path=_OAUTH + path, query="", fragment=""))
    return [issuer.rstrip("/") + _OIDC, oauth]


async def discover(http: httpx.AsyncClient, issuer: str) -> ProviderMetadata:
    if not registrable(issuer):
        raise DiscoveryError("the issuer must be an absolute https URL (http only on loopback)")
    problems = []
    for url in _candidates(issuer):
        answer = await exchange(http, "GET", url, headers={"Accept": "application/json"})
        if not isinstance(answer, Answer):
            problems.append(f"{url}: {answer.reason}")
            continue
        if answer.status != 200:
            problems.append(f"{url}: HTTP {answer.status}")
            continue
        try:
            metadata = _decoder.decode(answer.body)
        except msgspec.DecodeError as error:
            problems.append(f"{url}: not provider metadata ({error})")
            continue
        if metadata.issuer != issuer:
            raise DiscoveryError(
                f"{url} names the issuer {metadata.issuer!r}, not {issuer!r} (RFC 8414 3.3)"
            )
        methods = metadata.code_challenge_methods_supported
        if methods is not None and "S256" not in methods:
            raise DiscoveryError(f"{issuer} does not offer PKCE with S256 (RFC 7636)")
        return metadata
    raise DiscoveryError("; ".join(problems))
