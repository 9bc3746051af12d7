"""Configuration: one typed Struct, read from KEYLEDGER_* variables and an optional TOML file."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Final, Literal, get_args

import msgspec
import platformdirs

from schemas.events.rate_limit import RateLimitName

__all__ = ["RATE_LIMITS", "ConfigError", "Settings", "load_settings"]

ENV_PREFIX = "KEYLEDGER_"


class ConfigError(Exception):
    """A bad configuration value; the message is one line naming the variable."""


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # External servers; when unset, embedded ones are started under data_dir.
    database_url: str | None = None
    nats_url: str | None = None
    data_dir: str = platformdirs.user_data_dir("keyledger")
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    # JetStream stream and subject root; distinct per deployment sharing one NATS account.
    nats_stream: str = "KEYLEDGER"
    subject_prefix: str = "keyledger"
    db_pool_size: int = 16
    log_format: Literal["console", "json"] = "console"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # Followers are woken by NOTIFY; this poll is the fallback when a wake-up is missed.
    poll_interval_ms: int = 500
    relay_batch_size: int = 1000
    projector_batch_size: int = 2000
    # A signed checkpoint closes a segment of the log at this many events, or this long after
    # the previous one when at least one event came since.
    checkpoint_events: int = 10_000
    checkpoint_interval_s: float = 60.0
    # Positions per range partition of the short-lived streams' events (DECISIONS 29): the
    # unit `keyledger log archive` exports and drops. Changing it shapes partitions made later.
    event_partition_size: int = 10_000_000
    # The `iss` of every token and the base of every endpoint URL (RFC 8414); defaults to
    # http://<host>:<port>. Behind a proxy, set it to the public https URL.
    issuer: str | None = None
    # Base64 of 32 bytes: the root of secret digests, sealing and CSRF keys. Every replica
    # needs the same one; unset, it is created in <data_dir>/master.key on first start.
    master_key: str | None = None
    # Seconds a previous client secret keeps working after a rotation.
    secret_overlap_s: int = 86_400
    # Days audit_trail rows are kept before `keyledger audit prune` may drop them; unset:
    # kept forever. The log itself is never pruned, so a rebuild brings the rows back.
    audit_retention_days: int | None = None
    # Days after a token family's last expiry before `keyledger tokens compact` drops its
    # token state rows (they answer as missing rows do by then; the log keeps the events).
    token_state_retention_days: int = 30
    # Connected accounts: how often the scheduler looks for upstream tokens to refresh or
    # check, how long a provider may take to answer, how long an authorization may take.
    connections_tick_ms: int = 5_000
    upstream_timeout_s: float = 10.0
    connection_start_ttl_s: int = 600
    # Fault injection for the crash tests: the scheduler stops dead at this point of a
    # refresh ("after_claim" or "after_answer") so that a test can kill it there. Never set
    # it in production: refreshes would stop.
    connections_pause_at: Literal["after_claim", "after_answer"] | None = None
    # Rate limits (DECISIONS 20): requests per second and burst, for the whole of one API
    # replica (each of its workers enforces its share). 0 per second turns a limit off.
    # Per authenticated client, and per source address, at the token, introspection and
    # revocation endpoints: far above what one service client sends.
    rate_limit_client_per_s: float = 10_000.0
    rate_limit_client_burst: int = 10_000
    rate_limit_source_per_s: float = 10_000.0
    rate_limit_source_burst: int = 10_000
    # Failed client authentications per source address: past it, a failure is answered 429
    # and counted instead of being an event of its own.
    rate_limit_client_auth_per_s: float = 5.0
    rate_limit_client_auth_burst: int = 50
    # Credentials submitted per source address (sign-in pages, password grant): each costs an
    # argon2id hash, and lockout (domain/policies/lockout.py) stops guessing on top of it.
    rate_limit_login_per_s: float = 10.0
    rate_limit_login_burst: int = 50
    # The authorization and account pages per source address.
    rate_limit_page_per_s: float = 50.0
    rate_limit_page_burst: int = 200
    # Refusals are recorded once per key and window of this many seconds (with the count).
    rate_limit_window_s: int = 60

    @property
    def issuer_url(self) -> str:
        return (self.issuer or f"http://{self.host}:{self.port}").rstrip("/")

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ValueError(f"{ENV_PREFIX}PORT must be between 1 and 65535")
        if self.workers < 1:
            raise ValueError(f"{ENV_PREFIX}WORKERS must be at least 1")
        if self.db_pool_size < 2:
            raise ValueError(f"{ENV_PREFIX}DB_POOL_SIZE must be at least 2")
        if self.checkpoint_events < 1:
            raise ValueError(f"{ENV_PREFIX}CHECKPOINT_EVENTS must be at least 1")
        if not self.checkpoint_interval_s > 0:
            raise ValueError(f"{ENV_PREFIX}CHECKPOINT_INTERVAL_S must be positive")
        self._check_retention()
        self._check_connections()
        self._check_rate_limits()
        if not re.fullmatch(r"[A-Za-z0-9_-]+", self.nats_stream):
            raise ValueError(f"{ENV_PREFIX}NATS_STREAM may hold letters, digits, '_' and '-' only")
        if not re.fullmatch(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*", self.subject_prefix):
            raise ValueError(f"{ENV_PREFIX}SUBJECT_PREFIX must be dot-separated NATS tokens")

    def _check_retention(self) -> None:
        if self.event_partition_size < 1_000:
            raise ValueError(f"{ENV_PREFIX}EVENT_PARTITION_SIZE must be at least 1000")
        if self.audit_retention_days is not None and self.audit_retention_days < 1:
            raise ValueError(f"{ENV_PREFIX}AUDIT_RETENTION_DAYS must be at least 1")
        if self.token_state_retention_days < 0:
            raise ValueError(f"{ENV_PREFIX}TOKEN_STATE_RETENTION_DAYS must be at least 0")

    def _check_connections(self) -> None:
        if self.connections_tick_ms < 10:
            raise ValueError(f"{ENV_PREFIX}CONNECTIONS_TICK_MS must be at least 10")
        if not 0.1 <= self.upstream_timeout_s <= 300:
            raise ValueError(f"{ENV_PREFIX}UPSTREAM_TIMEOUT_S must be between 0.1 and 300")
        if not 60 <= self.connection_start_ttl_s <= 3600:
            raise ValueError(f"{ENV_PREFIX}CONNECTION_START_TTL_S must be between 60 and 3600")

    def _check_rate_limits(self) -> None:
        for name in RATE_LIMITS:
            per_s, burst = self.rate_limit(name)
            if not per_s >= 0:  # also refuses NaN
                raise ValueError(f"{ENV_PREFIX}RATE_LIMIT_{name.upper()}_PER_S must be >= 0")
            if burst < 1:
                raise ValueError(f"{ENV_PREFIX}RATE_LIMIT_{name.upper()}_BURST must be >= 1")
        if self.rate_limit_window_s < 1:
            raise ValueError(f"{ENV_PREFIX}RATE_LIMIT_WINDOW_S must be at least 1")

    def rate_limit(self, name: RateLimitName) -> tuple[float, int]:
        """(per second, burst) of the limit `name`, one of RATE_LIMITS."""
        per_s: float = getattr(self, f"rate_limit_{name}_per_s")
        burst: int = getattr(self, f"rate_limit_{name}_burst")
        return per_s, burst


# The limits the settings configure (see schemas/events/rate_limit.py for what each counts).
RATE_LIMITS: Final[tuple[RateLimitName, ...]] = get_args(RateLimitName)

_FIELD_IN_PATH = re.compile(r"at `\$\.(\w+)`")


def load_settings(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, object] | None = None
) -> Settings:
    """Defaults < TOML file (KEYLEDGER_CONFIG) < KEYLEDGER_* variables < explicit overrides."""
    environ = os.environ if environ is None else environ
    values: dict[str, object] = {}
    config_file = environ.get(ENV_PREFIX + "CONFIG")
    if config_file:
        try:
            values.update(tomllib.loads(Path(config_file).read_text(encoding="utf-8")))
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise ConfigError(f"{ENV_PREFIX}CONFIG={config_file}: {error}") from None
    known = set(Settings.__struct_fields__)
    for key, value in environ.items():
        if key.startswith(ENV_PREFIX) and key != ENV_PREFIX + "CONFIG":
            name = key.removeprefix(ENV_PREFIX).lower()
            if name in known:
                values[name] = value
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    try:
        return msgspec.convert(values, Settings, strict=False)
    except msgspec.ValidationError as error:
        raise ConfigError(_explain(str(error))) from None


def _explain(message: str) -> str:
    match = _FIELD_IN_PATH.search(message)
    if match:
        variable = ENV_PREFIX + match.group(1).upper()
        return f"{variable}: {_FIELD_IN_PATH.sub('', message).strip(' -')}"
    if message.startswith(ENV_PREFIX):
        return message
    return f"configuration: {message}"
