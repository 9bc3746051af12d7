"""Merkle trees over event hashes, as Certificate Transparency builds them.

https://www.rfc-editor.org/rfc/rfc6962#section-2.1  https://www.rfc-editor.org/rfc/rfc9162#section-2.1

    leaf(d)     = SHA-256(0x00 || d)          d: an event's 32-byte hash
    node(l, r)  = SHA-256(0x01 || l || r)
    MTH(D[n])   = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two below n

The distinct leaf and node prefixes stop a node from passing for a leaf (second preimages).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Final

__all__ = [
    "EMPTY_ROOT",
    "MerkleTree",
    "leaf_hash",
    "merkle_root",
    "node_hash",
    "root_from_inclusion",
    "verify_inclusion",
]

EMPTY_ROOT: Final = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def merkle_root(leaves: Iterable[bytes]) -> bytes:
    """MTH of the leaf data, in one pass and O(log n) memory.

    The stack holds the perfect subtrees seen so far, largest first; folding them right to
    left at the end gives RFC 6962's split at the largest power of two.
    """
    stack: list[tuple[int, bytes]] = []  # (height, hash)
    for data in leaves:
        height, digest = 0, leaf_hash(data)
        while stack and stack[-1][0] == height:
            digest = node_hash(stack.pop()[1], digest)
            height += 1
        stack.append((height, digest))
    if not stack:
        return EMPTY_ROOT
    digest = stack.pop()[1]
    while stack:
        digest = node_hash(stack.pop()[1], digest)
    return digest


class MerkleTree:
    """Every level of the tree, for inclusion proofs of many leaves of one segment.

    Built bottom up, pairing neighbours and carrying an odd last node up unchanged: that
    is the same tree as RFC 6962's recursive definition.
    """

    __slots__ = ("_levels",)

    def __init__(self, leaves: Sequence[bytes]) -> None:
        if not leaves:
            raise ValueError("a Merkle tree needs at least one leaf")
        level = [leaf_hash(data) for data in leaves]
        self._levels = [level]
        while len(level) > 1:
            paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            if len(level) % 2:
                paired.append(level[-1])
            self._levels.append(paired)
            level = paired

    @property
    def size(self) -> int:
        return len(self._levels[0])

    @property
    def root(self) -> bytes:
        return self._levels[-1][0]

    def inclusion_proof(self, index: int) -> list[bytes]:
        """The audit path of leaf `index` (RFC 9162 2.1.3.1), nearest sibling first."""
        if not 0 <= index < self.size:
            raise IndexError(f"leaf {index} is outside a tree of {self.size}")
        path = []
        for level in self._levels[:-1]:
            sibling = index ^ 1
            if sibling < len(level):  # a carried-up last node has no sibling at this level
                path.append(level[sibling])
            index //= 2
        return path


def root_from_inclusion(data: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes | None:
    """The root that `proof` leads to from leaf `index` of `size`, or None if it cannot be one
    (RFC 9162 2.1.3.2)."""
    if not 0 <= index < size:
        return None
    fn, sn, digest = index, size - 1, leaf_hash(data)
    for sibling in proof:
        if sn == 0:
            return None  # more path than the tree is tall
        if fn & 1 or fn == sn:
            digest = node_hash(sibling, digest)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            digest = node_hash(digest, sibling)
        fn, sn = fn >> 1, sn >> 1
    return digest if sn == 0 else None


def verify_inclusion(
    data: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether leaf data `data` is leaf `index` of the tree of `size` leaves with `root`."""
    return root_from_inclusion(data, index, size, proof) == root
