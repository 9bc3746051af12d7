"""Upstream tokens encrypted at rest: bound to their connection and kind, opened only by a
key still held, never printed or encoded in clear."""

from __future__ import annotations

import msgspec
import pytest

from infra.crypto.sealing import SealError
from infra.crypto.secret import Secret
from infra.crypto.token_vault import VaultKeys, new_vault_key
from schemas.events import Sealed

TOKEN = Secret("upstream-refresh-token-0123456789")


def test_a_ciphertext_names_its_key_and_opens_for_its_connection_and_kind_only() -> None:
    keys = VaultKeys({"vk-1": new_vault_key()}, "vk-1")
    sealed = keys.encrypt(TOKEN, connection_id="c1", kind="refresh")
    assert sealed.split(".")[1] == "vk-1"
    assert TOKEN.reveal() not in sealed
    assert keys.decrypt(sealed, connection_id="c1", kind="refresh") == TOKEN
    with pytest.raises(SealError):
        keys.decrypt(sealed, connection_id="c2", kind="refresh")  # moved to another connection
    with pytest.raises(SealError):
        keys.decrypt(sealed, connection_id="c1", kind="access")  # passed off as the other kind


def test_a_rotated_ring_opens_old_ciphertexts_until_the_old_key_is_gone() -> None:
    old, new = new_vault_key(), new_vault_key()
    sealed = VaultKeys({"vk-1": old}, "vk-1").encrypt(TOKEN, connection_id="c1", kind="access")
    rotated = VaultKeys({"vk-1": old, "vk-2": new}, "vk-2")
    again = rotated.encrypt(
        rotated.decrypt(sealed, connection_id="c1", kind="access"), connection_id="c1",
        kind="access",
    )  # fmt: skip
    assert again.split(".")[1] == "vk-2"
    retired = VaultKeys({"vk-2": new}, "vk-2")
    assert retired.decrypt(again, connection_id="c1", kind="access") == TOKEN
    with pytest.raises(SealError):
        retired.decrypt(sealed, connection_id="c1", kind="access")
    with pytest.raises(SealError):
        retired.decrypt(Sealed(again[:-4] + "AAAA"), connection_id="c1", kind="access")


def test_a_secret_never_shows_itself() -> None:
    assert TOKEN.reveal() not in repr(TOKEN) and TOKEN.reveal() not in f"{TOKEN}"
    with pytest.raises(TypeError):
        msgspec.json.encode({"token": TOKEN})
    with pytest.raises(TypeError):
        hash(TOKEN)
    assert Secret("a") != Secret("b")
