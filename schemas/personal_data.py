"""Personal data in events: which fields hold it, whose it is, and how a sealed value reads.

A contract, like schemas/canonical.py. A personal value is sealed before its event is hashed
and appended, so the log (and everything published from it) holds only

    pd1:<key id>:<base64url(nonce || ciphertext || tag)>        (no padding)

AES-256-GCM under the data key of the person it belongs to (the subject), a random 96-bit
nonce, and as associated data the UTF-8 of `pd1:<key id>:<subject>:<field>`, so a value
cannot pass for another person's or another field's. Data keys live outside the log
(`subject_keys`); erasing a person destroys theirs, after which each of their sealed values
reads as REDACTED while every hash still verifies. Values written before sealing existed
are in clear and stay so (the log is never rewritten).

Personal fields: `UserRegistered.username`; `SsoUserProvisioned.username`, `.name`,
`.subject`; `SsoIdentityLinked.subject` (whose: the event's `user_id`); the address an
investigator searched for, `AuditTrailRead.filters["ip"]` (field `filter_ip`; whose: the
read's `subject_user`, else nobody's known); and the request's `Metadata.ip` and
`.user_agent` (whose: the actor when the actor is a user, else the metadata's
`subject_user`; neither, they stay in clear: a client's own request).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Final, Literal

import msgspec

from schemas.envelope import Metadata
from schemas.events import (
    AuditTrailRead,
    Event,
    SsoIdentityLinked,
    SsoUserProvisioned,
    UserRegistered,
)

__all__ = [
    "PAYLOAD_FIELDS",
    "REDACTED",
    "SEALED_PREFIX",
    "PersonalField",
    "Rewrite",
    "associated_data",
    "is_sealed",
    "personal_values",
    "request_subject",
    "rewrite",
]

SEALED_PREFIX: Final = "pd1:"
# What an erased (or otherwise unopenable) personal value reads as, everywhere.
REDACTED: Final = "[erased]"

PersonalField = Literal["username", "name", "subject", "filter_ip", "ip", "user_agent"]

# Payload fields that are personal, per event class; they belong to the event's `user_id`.
PAYLOAD_FIELDS: Final[dict[type[Event], tuple[PersonalField, ...]]] = {
    UserRegistered: ("username",),
    SsoUserProvisioned: ("username", "name", "subject"),
    SsoIdentityLinked: ("subject",),
}
_REQUEST_FIELDS: Final[tuple[PersonalField, ...]] = ("ip", "user_agent")

# (subject, field, value) -> the value to store or show instead.
Rewrite = Callable[[str, PersonalField, str], str]


def is_sealed(value: str) -> bool:
    return value.startswith(SEALED_PREFIX)


def associated_data(key_id: str, subject: str, field: PersonalField) -> bytes:
    return f"{SEALED_PREFIX}{key_id}:{subject}:{field}".encode()


def request_subject(metadata: Metadata) -> str | None:
    """Whose the request's address and user agent are: the user acting, else the user the
    request is about (a client's request for them may come from their browser)."""
    if metadata.actor == "user" and metadata.actor_id:
        return metadata.actor_id
    return metadata.subject_user


def personal_values(event: Event, metadata: Metadata) -> Iterator[tuple[str, PersonalField, str]]:
    """Every personal value of an event and its metadata, as (subject, field, value)."""
    fields = PAYLOAD_FIELDS.get(type(event))
    if fields:
        owner: str = getattr(event, "user_id")  # noqa: B009 (every class listed has one)
        for name in fields:
            value = getattr(event, name)
            if value is not None:
                yield owner, name, value
    if isinstance(event, AuditTrailRead) and event.subject_user and "ip" in event.filters:
        yield event.subject_user, "filter_ip", event.filters["ip"]
    if metadata.ip is None and metadata.user_agent is None:
        return
    subject = request_subject(metadata)
    if subject is None:
        return
    for name in _REQUEST_FIELDS:
        value = getattr(metadata, name)
        if value is not None:
            yield subject, name, value


def rewrite(event: Event, metadata: Metadata, change: Rewrite) -> tuple[Event, Metadata]:
    """The event and metadata with each personal value replaced by `change(...)` of it; the
    very same objects when nothing changes (a client's token, a value from before sealing)."""
    fields = PAYLOAD_FIELDS.get(type(event))
    if fields:
        owner: str = getattr(event, "user_id")  # noqa: B009 (every class listed has one)
        changed = {}
        for name in fields:
            value = getattr(event, name)
            if value is not None and (new := change(owner, name, value)) != value:
                changed[name] = new
        if changed:
            event = msgspec.structs.replace(event, **changed)
    if isinstance(event, AuditTrailRead) and event.subject_user and "ip" in event.filters:
        searched = event.filters["ip"]
        if (new := change(event.subject_user, "filter_ip", searched)) != searched:
            event = msgspec.structs.replace(event, filters={**event.filters, "ip": new})
    if metadata.ip is None and metadata.user_agent is None:
        return event, metadata
    subject = request_subject(metadata)
    if subject is None:
        return event, metadata
    ip, agent = metadata.ip, metadata.user_agent
    new_ip = None if ip is None else change(subject, "ip", ip)
    new_agent = None if agent is None else change(subject, "user_agent", agent)
    if new_ip != ip or new_agent != agent:
        metadata = msgspec.structs.replace(metadata, ip=new_ip, user_agent=new_agent)
    return event, metadata
