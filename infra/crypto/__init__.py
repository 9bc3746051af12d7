"""Cryptographic adapters: token digests, password hashing, sealing, root key and JWT signing."""
