"""Revocations for resource servers: what stopped working, on `<prefix>.revocations.<kind>`.

One message per revoking event, published by the relay right after the event itself, in log
order, with `Nats-Msg-Id` = `revocation-<event id>`. A message is a predicate, never a list
of tokens: one client suspension revokes millions of tokens in one message. A resource
server that validates access tokens locally (RFC 9068) refuses a token when any revocation
it holds matches the token's claims:

| kind          | matches a token when                                                   |
|---------------|------------------------------------------------------------------------|
| `token`       | its `jti` is `jti`                                                     |
| `token_family`| its `family_id` claim is `family_id` (the refresh chain it belongs to) |
| `client`      | its `client_id` is `client_id` and `iat` < `issued_before`             |
| `user_client` | `sub` is `user_id`, `client_id` is `client_id`, `iat` < `issued_before`|
| `user`        | `sub` is `user_id` (a user's token: `sub` != `client_id`) and          |
|               | `iat` < `issued_before`                                                |
| `signing_key` | its JWS header `kid` is `kid`: the key signed nothing after            |
|               | `issued_before`, so a later token with that `kid` is forged too        |
| `workspace`   | its `workspace_id` claim is `workspace_id` and `iat` < `issued_before` |
| `api_key`     | (no JWT) the workspace API key `key_id`: drop any cached answer for it  |

`iat` has whole seconds, `issued_before` does not: a token issued in the same second as, but
after, a revocation is refused too (the safe side). After `expires_at` nothing the
revocation matches can still be presented, so it can be forgotten.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, get_args
from uuid import UUID

import msgspec

__all__ = [
    "REVOCATION_TYPES",
    "ApiKeyRevocation",
    "ClientRevocation",
    "Revocation",
    "RevocationBase",
    "SigningKeyRevocation",
    "TokenFamilyRevocation",
    "TokenRevocation",
    "UserClientRevocation",
    "UserRevocation",
    "WorkspaceRevocation",
    "decode_revocation",
    "encode_revocation",
    "kind_of",
    "revocation_msg_id",
    "revocation_subject",
]


class RevocationBase(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind"):
    """What every revocation says: which logged event, where in the log, until when."""

    # The logged event that revoked (its `Nats-Msg-Id` on the events subject).
    event_id: UUID
    # Its place in the log: revocations arrive in increasing global_position.
    global_position: int
    occurred_at: datetime
    # After this instant no token it matches is unexpired: forget it.
    expires_at: datetime
    # The event type that revoked, e.g. `client_suspended`, `consent_withdrawn`.
    cause: str


class TokenRevocation(RevocationBase, frozen=True, kw_only=True, tag="token"):
    """One access token (RFC 7009)."""

    jti: str


class TokenFamilyRevocation(RevocationBase, frozen=True, kw_only=True, tag="token_family"):
    """Every token of one grant's refresh chain (refresh token revoked or reused)."""

    family_id: str


class ClientRevocation(RevocationBase, frozen=True, kw_only=True, tag="client"):
    """Every token of a client issued before `issued_before` (suspended or banned)."""

    client_id: str
    issued_before: datetime


class UserClientRevocation(RevocationBase, frozen=True, kw_only=True, tag="user_client"):
    """Every token a client holds for one user, issued before `issued_before` (consent
    withdrawn)."""

    user_id: str
    client_id: str
    issued_before: datetime


class UserRevocation(RevocationBase, frozen=True, kw_only=True, tag="user"):
    """Every token of a user, issued before `issued_before` (disabled, password changed,
    incident)."""

    user_id: str
    issued_before: datetime


class SigningKeyRevocation(RevocationBase, frozen=True, kw_only=True, tag="signing_key"):
    """Every token signed by `kid` (the key is distrusted and left the JWKS)."""

    kid: str
    issued_before: datetime


class WorkspaceRevocation(RevocationBase, frozen=True, kw_only=True, tag="workspace"):
    """Every token of a workspace's clients issued before `issued_before` (incident)."""

    workspace_id: str
    issued_before: datetime


class ApiKeyRevocation(RevocationBase, frozen=True, kw_only=True, tag="api_key"):
    """A workspace API key stopped working; `expires_at` is the key's own expiry."""

    workspace_id: str
    key_id: str


Revocation = (
    TokenRevocation
    | TokenFamilyRevocation
    | ClientRevocation
    | UserClientRevocation
    | UserRevocation
    | SigningKeyRevocation
    | WorkspaceRevocation
    | ApiKeyRevocation
)

REVOCATION_TYPES: Final[tuple[type[RevocationBase], ...]] = get_args(Revocation)

_encoder: Final = msgspec.json.Encoder()
_decoder: Final = msgspec.json.Decoder(Revocation)


def kind_of(revocation: RevocationBase) -> str:
    tag: str = revocation.__struct_config__.tag  # type: ignore[assignment]
    return tag


def revocation_subject(prefix: str, revocation: RevocationBase) -> str:
    return f"{prefix}.revocations.{kind_of(revocation)}"


def revocation_msg_id(event_id: UUID) -> str:
    """Distinct from the event's own `Nats-Msg-Id`, so JetStream dedupes each separately."""
    return f"revocation-{event_id}"


def encode_revocation(revocation: Revocation) -> bytes:
    return _encoder.encode(revocation)


def decode_revocation(data: bytes) -> Revocation:
    """msgspec.DecodeError / ValidationError for anything that is not a revocation."""
    decoded: Revocation = _decoder.decode(data)
    return decoded
