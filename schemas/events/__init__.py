"""Every stored event type as one tagged union, with its codec."""

from __future__ import annotations

from typing import Final, get_args

import msgspec

from schemas.events.audit import (
    AuditEvent,
    AuditLogVerified,
    AuditTrailPruned,
    AuditTrailRead,
    TokenStateCompacted,
)
from schemas.events.authorization import (
    AuthorizationCodeIssued,
    AuthorizationCodeRedeemed,
    AuthorizationCodeReplayed,
    AuthorizationDenied,
    AuthorizationEvent,
    AuthorizationFlagged,
)
from schemas.events.base import Digest, EventBase, Jti, PasswordHash, Sealed, to_snake_case
from schemas.events.client import (
    ClientBanned,
    ClientEvent,
    ClientRegistered,
    ClientReinstated,
    ClientSecretRotated,
    ClientSuspended,
)
from schemas.events.connection import (
    ConnectionAttemptFailed,
    ConnectionEstablished,
    ConnectionEvent,
    ConnectionExpired,
    ConnectionHealthChecked,
    ConnectionReauthenticationRequired,
    ConnectionRevoked,
    ConnectionStarted,
    UpstreamRefreshFailed,
    UpstreamRefreshStarted,
    UpstreamTokenRefreshed,
)
from schemas.events.consent import ConsentEvent, ConsentGranted, ConsentWithdrawn
from schemas.events.console_role import ConsoleRoleEvent, ConsoleRoleGranted, ConsoleRoleRevoked
from schemas.events.incident import AccessReported, IncidentEvent
from schemas.events.log import LogEvent, LogRangeArchived
from schemas.events.login import LoginEvent, LoginRefused, LoginSucceeded
from schemas.events.provider import ProviderEvent, ProviderRegistered, ProviderRemoved
from schemas.events.rate_limit import RateLimitEvent, RateLimitExceeded
from schemas.events.refusal import RefusalEvent, TokenRequestRefused
from schemas.events.signing_key import (
    SigningKeyActivated,
    SigningKeyEvent,
    SigningKeyRetired,
    SigningKeyRevoked,
)
from schemas.events.sso import ClaimMapping, SsoConfigured, SsoDisabled, SsoEvent
from schemas.events.token_family import (
    AccessTokenIssued,
    AccessTokenRevoked,
    RefreshTokenIssued,
    RefreshTokenReuseDetected,
    RefreshTokenRotated,
    TokenFamilyEvent,
    TokenFamilyRevoked,
)
from schemas.events.upcasting import UnknownEventVersion, upcast
from schemas.events.user import (
    SsoIdentityLinked,
    SsoUserProvisioned,
    UserDisabled,
    UserErased,
    UserEvent,
    UserOtpEnabled,
    UserPasswordChanged,
    UserRegistered,
    UserTokensRevoked,
)
from schemas.events.vault_key import VaultKeyCreated, VaultKeyEvent, VaultKeyRetired
from schemas.events.workspace import (
    ApiKeyCreated,
    ApiKeyRevoked,
    ApiKeyRotated,
    InvitationAccepted,
    MemberInvited,
    MemberRemoved,
    MemberRoleChanged,
    WorkspaceCreated,
    WorkspaceEvent,
    WorkspaceTokensRevoked,
)

__all__ = [
    "EVENT_TYPES",
    "AccessReported",
    "AccessTokenIssued",
    "AccessTokenRevoked",
    "ApiKeyCreated",
    "ApiKeyRevoked",
    "ApiKeyRotated",
    "AuditLogVerified",
    "AuditTrailPruned",
    "AuditTrailRead",
    "AuthorizationCodeIssued",
    "AuthorizationCodeRedeemed",
    "AuthorizationCodeReplayed",
    "AuthorizationDenied",
    "AuthorizationFlagged",
    "ClaimMapping",
    "ClientBanned",
    "ClientRegistered",
    "ClientReinstated",
    "ClientSecretRotated",
    "ClientSuspended",
    "ConnectionAttemptFailed",
    "ConnectionEstablished",
    "ConnectionExpired",
    "ConnectionHealthChecked",
    "ConnectionReauthenticationRequired",
    "ConnectionRevoked",
    "ConnectionStarted",
    "ConsentGranted",
    "ConsentWithdrawn",
    "ConsoleRoleGranted",
    "ConsoleRoleRevoked",
    "Digest",
    "Event",
    "EventBase",
    "InvitationAccepted",
    "Jti",
    "LogRangeArchived",
    "LoginRefused",
    "LoginSucceeded",
    "MemberInvited",
    "MemberRemoved",
    "MemberRoleChanged",
    "PasswordHash",
    "ProviderRegistered",
    "ProviderRemoved",
    "RateLimitExceeded",
    "RefreshTokenIssued",
    "RefreshTokenReuseDetected",
    "RefreshTokenRotated",
    "Sealed",
    "SigningKeyActivated",
    "SigningKeyRetired",
    "SigningKeyRevoked",
    "SsoConfigured",
    "SsoDisabled",
    "SsoIdentityLinked",
    "SsoUserProvisioned",
    "TokenFamilyRevoked",
    "TokenRequestRefused",
    "TokenStateCompacted",
    "UnknownEventVersion",
    "UpstreamRefreshFailed",
    "UpstreamRefreshStarted",
    "UpstreamTokenRefreshed",
    "UserDisabled",
    "UserErased",
    "UserOtpEnabled",
    "UserPasswordChanged",
    "UserRegistered",
    "UserTokensRevoked",
    "VaultKeyCreated",
    "VaultKeyRetired",
    "WorkspaceCreated",
    "WorkspaceTokensRevoked",
    "decode_event",
    "encode_event",
    "event_type_of",
    "schema_version_of",
    "to_snake_case",
]

Event = (
    ClientEvent
    | UserEvent
    | LoginEvent
    | ConsentEvent
    | AuthorizationEvent
    | TokenFamilyEvent
    | SigningKeyEvent
    | RefusalEvent
    | RateLimitEvent
    | WorkspaceEvent
    | AuditEvent
    | ProviderEvent
    | ConnectionEvent
    | VaultKeyEvent
    | ConsoleRoleEvent
    | IncidentEvent
    | SsoEvent
    | LogEvent
)

EVENT_TYPES: Final[tuple[type[EventBase], ...]] = get_args(Event)
_VERSION_BY_TYPE: Final[dict[str, int]] = {
    to_snake_case(cls.__name__): cls.schema_version for cls in EVENT_TYPES
}

_encoder = msgspec.json.Encoder(order="deterministic")
_decoder = msgspec.json.Decoder(Event)


_TYPE_NAMES: Final[dict[type[EventBase], str]] = {
    cls: to_snake_case(cls.__name__) for cls in EVENT_TYPES
}


def event_type_of(event: EventBase) -> str:
    """The stable type name stored in the `event_type` column and used in NATS subjects."""
    cls = type(event)
    name = _TYPE_NAMES.get(cls)
    return name if name is not None else to_snake_case(cls.__name__)


def encode_event(event: Event) -> bytes:
    """Deterministic JSON: the exact bytes that are stored and hashed."""
    return _encoder.encode(event)


def decode_event(event_type: str, schema_version: int, data: bytes) -> Event:
    """Decode stored bytes to the current event class, upcasting older versions."""
    if _VERSION_BY_TYPE.get(event_type) == schema_version:
        current: Event = _decoder.decode(data)
        return current
    upcasted: Event = upcast(event_type, schema_version, data)
    return upcasted


def schema_version_of(event_type: str) -> int:
    return _VERSION_BY_TYPE[event_type]
