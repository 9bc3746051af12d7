"""keyledger's access tokens as a resource server accepts them: signed, current, not revoked.

https://www.rfc-editor.org/rfc/rfc9068#section-4
A token is accepted when its signature verifies with a key from keyledger's JWKS (the key's
algorithm, never the header's), its header `typ` is `at+jwt`, `iss` and `aud` are expected,
it is within `exp` (and `nbf`, `iat`) give or take `leeway_s`, and no revocation held
matches it. The signature and claims of a token are checked once and kept (up to
`cache_size` tokens, until `exp`), since a client presents the same token many times; the
revocation check runs on every call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta
from typing import Final

import msgspec
import nats
import nats.errors
from nats.aio.client import Client

from infra.resource_server.feed import RevocationFeed
from infra.resource_server.jwks import JwksCache
from infra.resource_server.revocation_set import RevocationSet
from schemas.access_token import AccessTokenClaims
from schemas.revocations import Revocation

__all__ = ["AccessTokens", "InvalidToken", "NotReady", "ResourceServerSettings", "ValidatedToken"]

# RFC 9068 section 2.1.
ACCESS_TOKEN_TYP: Final = "at+jwt"
_MAX_TOKEN_LENGTH: Final = 8192
_SWEEP_S: Final = 30.0

log = logging.getLogger(__name__)
_claims_decoder: Final = msgspec.json.Decoder(AccessTokenClaims)


class ResourceServerSettings(msgspec.Struct, frozen=True, kw_only=True):
    # keyledger's `iss` (its KEYLEDGER_ISSUER); tokens from anyone else are refused.
    issuer: str
    nats_url: str
    # The durable consumer's name: one per replica of the resource server, stable across
    # its restarts (e.g. "<service>-<host>").
    consumer: str
    # Default: <issuer>/.well-known/jwks.json.
    jwks_url: str | None = None
    # What `aud` must hold; keyledger's tokens name the issuer itself by default.
    audience: str | None = None
    nats_stream: str = "KEYLEDGER"
    subject_prefix: str = "keyledger"
    # keyledger's longest configurable access-token lifetime: how far back a start replays.
    max_token_lifetime_s: float = 86_400.0
    # Clock skew tolerated on exp, nbf and iat.
    leeway_s: float = 30.0
    cache_size: int = 100_000
    # Refuse every token (503) once NATS has been unreachable this long; None: keep serving.
    stale_after_s: float | None = None
    jwks_max_age_s: float = 300.0
    jwks_min_interval_s: float = 5.0


class InvalidToken(Exception):
    """The token is refused (RFC 6750 `invalid_token`); the message says why, for the caller."""


class NotReady(Exception):
    """Revocations cannot be vouched for now (replay not done, or NATS gone too long)."""


class ValidatedToken(msgspec.Struct, frozen=True):
    claims: AccessTokenClaims
    kid: str


class AccessTokens:
    def __init__(
        self, settings: ResourceServerSettings, jwks: JwksCache, revocations: RevocationSet
    ) -> None:
        self.settings = settings
        self.jwks = jwks
        self.revocations = revocations
        self.feed: RevocationFeed | None = None
        self._audience = settings.audience or settings.issuer
        self._verified: dict[str, ValidatedToken] = {}
        self._disconnected_at: float | None = None
        self._nc: Client | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._checking: asyncio.Task[None] | None = None
        self._closing = False

    @classmethod
    async def open(cls, settings: ResourceServerSettings) -> AccessTokens:
        """Fetch the JWKS, replay the revocations that can still matter, then follow them."""
        jwks = JwksCache(
            settings.jwks_url or f"{settings.issuer.rstrip('/')}/.well-known/jwks.json",
            max_age_s=settings.jwks_max_age_s,
            min_interval_s=settings.jwks_min_interval_s,
        )
        tokens = cls(settings, jwks, RevocationSet(leeway_s=settings.leeway_s))
        try:
            await jwks.start()
            tokens._nc = await nats.connect(
                settings.nats_url,
                name=f"keyledger-resource-server:{settings.consumer}",
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.25,
                disconnected_cb=tokens._on_disconnected,
                reconnected_cb=tokens._on_reconnected,
            )
            window = timedelta(seconds=settings.max_token_lifetime_s + settings.leeway_s)
            tokens.feed = RevocationFeed(
                tokens._nc, tokens.apply, stream=settings.nats_stream,
                prefix=settings.subject_prefix, consumer=settings.consumer, window=window,
            )  # fmt: skip
            await tokens.feed.start()
        except BaseException:
            await tokens.close()
            raise
        tokens._sweeper = asyncio.create_task(tokens._sweep())
        return tokens

    async def close(self) -> None:
        self._closing = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self.feed is not None:
            await self.feed.stop()
        if self._nc is not None:
            with contextlib.suppress(nats.errors.Error):
                await self._nc.drain()
        await self.jwks.close()

    def apply(self, revocation: Revocation) -> bool:
        return self.revocations.apply(revocation, time.time())

    @property
    def ready(self) -> bool:
        if self.feed is None or not self.feed.ready.is_set():
            return False
        stale_after = self.settings.stale_after_s
        return not (
            stale_after is not None
            and self._disconnected_at is not None
            and time.monotonic() - self._disconnected_at > stale_after
        )

    async def validate(self, token: str) -> ValidatedToken:
        """The token's claims if it is accepted; InvalidToken (why) or NotReady if not."""
        if not self.ready:
            raise NotReady("revocations are not known yet")
        now = time.time()
        found = self._verified.get(token)
        if found is None:
            found = await self._verify(token, now)
        elif found.claims.exp + self.settings.leeway_s <= now:
            del self._verified[token]
            raise InvalidToken("the access token has expired")
        if self.revocations.is_revoked(found.claims, found.kid):
            raise InvalidToken("the access token has been revoked")
        return found

    async def _verify(self, token: str, now: float) -> ValidatedToken:
        if not token or len(token) > _MAX_TOKEN_LENGTH:
            raise InvalidToken("the access token is malformed")
        keys = await self.jwks.keys_for(self.jwks.keys.kid_of(token))
        verified = keys.verify(token, typ=ACCESS_TOKEN_TYP)
        if verified is None:
            raise InvalidToken("the access token is malformed or its signature does not verify")
        try:
            claims = _claims_decoder.decode(verified.payload)
        except msgspec.MsgspecError:
            raise InvalidToken("the access token's claims are malformed") from None
        leeway = self.settings.leeway_s
        if claims.iss != self.settings.issuer:
            raise InvalidToken("the access token is from another issuer")
        audiences = [claims.aud] if isinstance(claims.aud, str) else claims.aud
        if self._audience not in audiences:
            raise InvalidToken("the access token is for another audience")
        if claims.exp + leeway <= now:
            raise InvalidToken("the access token has expired")
        if claims.iat - leeway > now or (claims.nbf is not None and claims.nbf - leeway > now):
            raise InvalidToken("the access token is not valid yet")
        found = ValidatedToken(claims, verified.kid)
        if len(self._verified) >= self.settings.cache_size:
            # The oldest entry goes (dicts keep insertion order).
            del self._verified[next(iter(self._verified))]
        self._verified[token] = found
        return found

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(_SWEEP_S)
            now = time.time()
            self.revocations.forget_expired(now)
            horizon = now - self.settings.leeway_s
            for token in [t for t, v in self._verified.items() if v.claims.exp <= horizon]:
                del self._verified[token]

    async def _on_disconnected(self) -> None:
        if not self._closing:
            self._disconnected_at = time.monotonic()
            log.warning("revocations: disconnected from NATS; following again when it is back")

    async def _on_reconnected(self) -> None:
        self._disconnected_at = None
        if self.feed is not None:
            # Not inside nats-py's reconnect callback: it would wait on its own reconnection.
            self._checking = asyncio.create_task(self.feed.on_reconnect())
