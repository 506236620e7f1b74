"""API key secrets: generated here, stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "ec_"


def generate_key() -> str:
    """A new secret API key: a recognisable prefix and 256 random bits."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(secret: str) -> str:
    """The stored form of a key: SHA-256, hex."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()
