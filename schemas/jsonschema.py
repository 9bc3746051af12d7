"""JSON Schema of what keyledger publishes, generated from the Structs (never hand-written)."""

from __future__ import annotations

import inspect
from typing import Any

import msgspec

from schemas.envelope import Metadata
from schemas.events import EVENT_TYPES, Event
from schemas.messages import EventMessage
from schemas.revocations import REVOCATION_TYPES, Revocation

__all__ = ["events_schema", "revocations_schema"]


def events_schema() -> dict[str, Any]:
    """One document: `$defs` for every event type, the Metadata and the NATS envelope."""
    (event, _metadata, message), components = msgspec.json.schema_components(
        [Event, Metadata, EventMessage], ref_template="#/$defs/{name}"
    )
    versions = {cls.__name__: cls.schema_version for cls in EVENT_TYPES}
    for name, version in versions.items():
        components[name]["x-schema-version"] = version
    for component in components.values():
        # Docstrings as `inspect.cleandoc` has them, whichever msgspec release generated them
        # (newer ones strip the indentation, older ones keep it).
        if "description" in component:
            component["description"] = inspect.cleandoc(component["description"])
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "keyledger events",
        "description": (
            "Messages on <prefix>.events.<stream type>.<event type>: an EventMessage whose "
            "`data` is one Event and whose `metadata` is a Metadata."
        ),
        "oneOf": [message],
        "$defs": {**components, "Event": event},
    }


def revocations_schema() -> dict[str, Any]:
    """One document: `$defs` for every kind of revocation, `oneOf` them tagged by `kind`."""
    (revocation,), components = msgspec.json.schema_components(
        [Revocation], ref_template="#/$defs/{name}"
    )
    for cls in REVOCATION_TYPES:
        # What it revokes, on one line (msgspec copies the docstring with its indentation).
        components[cls.__name__]["description"] = " ".join((cls.__doc__ or "").split())
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "keyledger revocations",
        "description": (
            "Messages on <prefix>.revocations.<kind>, one per revoking event, in log order, "
            "with Nats-Msg-Id revocation-<event_id>. A resource server refuses a token that "
            "a revocation it holds matches, and forgets the revocation after expires_at."
        ),
        **revocation,
        "$defs": components,
    }
