"""The service's 32-byte root secret (given, or created once on disk) and HKDF subkeys from it."""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import re
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["MASTER_KEY_BYTES", "derive_key", "load_master_key"]

MASTER_KEY_BYTES = 32
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")


def load_master_key(value: str | None, path: Path) -> bytes:
    """`value` (base64/base64url of 32 bytes) if given, else the raw key file, made if absent."""
    if value is not None:
        return _decode(value)
    try:
        return _read(path)
    except FileNotFoundError:
        return _create(path)


def derive_key(master: bytes, purpose: str) -> bytes:
    """A 32-byte subkey per purpose ("client-secret-digest", "seal:k1", "csrf"): independent keys,
    so one leaking or being misused in one place says nothing about the others."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode("utf-8"))
    return hkdf.derive(master)


def _decode(value: str) -> bytes:
    # The message never echoes the value: it is a secret, and error messages get logged.
    text = value.strip()
    key = b""
    if _BASE64.fullmatch(text):
        standard = text.rstrip("=").replace("-", "+").replace("_", "/")
        with contextlib.suppress(binascii.Error, ValueError):
            key = base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
    if len(key) != MASTER_KEY_BYTES:
        raise ValueError(
            f"master key must be base64 or base64url of exactly {MASTER_KEY_BYTES} bytes"
            f" (decoded {len(key)} bytes); generate one with: openssl rand -base64 32"
        )
    return key


def _read(path: Path) -> bytes:
    key = path.read_bytes()
    if len(key) != MASTER_KEY_BYTES:
        raise ValueError(f"master key file {path} holds {len(key)} bytes, not {MASTER_KEY_BYTES}")
    return key


def _create(path: Path) -> bytes:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = os.urandom(MASTER_KEY_BYTES)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    temporary = Path(name)
    try:
        with os.fdopen(fd, "wb") as file:
            os.fchmod(file.fileno(), 0o600)
            file.write(key)
            file.flush()
            os.fsync(file.fileno())
        # A hard link publishes the complete file atomically *without* replacing one another
        # process created meanwhile: os.replace would clobber it, and whatever that process had
        # already sealed under its key would be lost. The loser reads the winner's key instead.
        try:
            os.link(temporary, path)
        except FileExistsError:
            return _read(path)
        _fsync_directory(path.parent)
        return key
    finally:
        temporary.unlink()


def _fsync_directory(directory: Path) -> None:
    # The new name must survive a crash too, or a restart would mint a different root key.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
