"""Opaque tokens: generated with ``secrets``, stored only as SHA-256 digests."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_token(prefix: str, nbytes: int = 32) -> str:
    return f"{prefix}_{secrets.token_urlsafe(nbytes)}"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same_digest(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)
