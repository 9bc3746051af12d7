"""RFC 6962 Merkle trees: roots and inclusion proofs match the RFC's recursive definitions."""

from __future__ import annotations

import hashlib

import pytest

from domain.merkle import EMPTY_ROOT, MerkleTree, merkle_root, verify_inclusion


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def reference_root(leaves: list[bytes]) -> bytes:
    """MTH as RFC 6962 2.1 writes it."""
    if not leaves:
        return sha256(b"")
    if len(leaves) == 1:
        return sha256(b"\x00" + leaves[0])
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return sha256(b"\x01" + reference_root(leaves[:k]) + reference_root(leaves[k:]))


def reference_path(index: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) as RFC 6962 2.1.1 writes it."""
    if len(leaves) == 1:
        return []
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    if index < k:
        return [*reference_path(index, leaves[:k]), reference_root(leaves[k:])]
    return [*reference_path(index - k, leaves[k:]), reference_root(leaves[:k])]


def event_hashes(count: int) -> list[bytes]:
    return [sha256(b"event %d" % i) for i in range(count)]


def test_known_small_trees() -> None:
    a, b, c = event_hashes(3)
    leaf = [sha256(b"\x00" + d) for d in (a, b, c)]
    assert merkle_root([]) == EMPTY_ROOT == sha256(b"")
    assert merkle_root([a]) == MerkleTree([a]).root == leaf[0]
    assert merkle_root([a, b]) == sha256(b"\x01" + leaf[0] + leaf[1])
    three = sha256(b"\x01" + sha256(b"\x01" + leaf[0] + leaf[1]) + leaf[2])
    assert merkle_root([a, b, c]) == MerkleTree([a, b, c]).root == three
    assert MerkleTree([a, b, c]).inclusion_proof(2) == [sha256(b"\x01" + leaf[0] + leaf[1])]


@pytest.mark.parametrize("size", range(1, 18))
def test_every_leaf_has_the_rfc_proof_and_it_verifies(size: int) -> None:
    leaves = event_hashes(size)
    tree = MerkleTree(leaves)
    root = reference_root(leaves)
    assert tree.root == merkle_root(leaves) == root
    for index, data in enumerate(leaves):
        proof = tree.inclusion_proof(index)
        assert proof == reference_path(index, leaves)
        assert verify_inclusion(data, index, size, proof, root)


@pytest.mark.parametrize("size", [1, 2, 5, 8, 13, 17])
def test_tampered_proofs_fail(size: int) -> None:
    leaves = event_hashes(size)
    tree = MerkleTree(leaves)
    for index, data in enumerate(leaves):
        proof = tree.inclusion_proof(index)
        assert not verify_inclusion(sha256(b"other"), index, size, proof, tree.root)
        assert not verify_inclusion(data, index, size, proof, sha256(b"other root"))
        assert not verify_inclusion(data, index, size, [*proof, tree.root], tree.root)
        assert not verify_inclusion(data, size, size, proof, tree.root)
        assert not verify_inclusion(data, -1, size, proof, tree.root)
        if size > 1:
            assert not verify_inclusion(data, (index + 1) % size, size, proof, tree.root)
            assert not verify_inclusion(data, index, size, proof[:-1], tree.root)
        for at in range(len(proof)):
            flipped = bytes([proof[at][0] ^ 1]) + proof[at][1:]
            forged = [*proof[:at], flipped, *proof[at + 1 :]]
            assert not verify_inclusion(data, index, size, forged, tree.root)
