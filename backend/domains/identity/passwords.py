"""argon2id password hashing, off the event loop."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from backend.kit.errors import FieldError, Invalid

MIN_LENGTH = 10
MAX_LENGTH = 256
_COMMON = frozenset({"password123", "1234567890", "qwertyuiop", "password1234", "letmein1234", "iloveyou12"})


@dataclass
class PasswordPolicy:
    memory_kib: int = 19_456
    time_cost: int = 2
    parallelism: int = 1

    def hasher(self) -> PasswordHasher:
        return PasswordHasher(memory_cost=self.memory_kib, time_cost=self.time_cost, parallelism=self.parallelism)


_policy = PasswordPolicy()
_hasher = _policy.hasher()
# A valid hash to verify against when the account does not exist (equal timing).
_DUMMY = _hasher.hash("tandem-dummy-password")


def configure(policy: PasswordPolicy) -> None:
    global _policy, _hasher, _DUMMY
    _policy, _hasher = policy, policy.hasher()
    _DUMMY = _hasher.hash("tandem-dummy-password")


def check_strength(password: str, field: str = "password") -> None:
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        raise Invalid("Password too weak.", [FieldError(field, f"at least {MIN_LENGTH} characters")], "weak_password")
    if len(password) > MAX_LENGTH:
        raise Invalid("Password too long.", [FieldError(field, f"at most {MAX_LENGTH} characters")], "weak_password")
    if password.lower() in _COMMON or len(set(password)) < 4:
        raise Invalid("Password too weak.", [FieldError(field, "too common or repetitive")], "weak_password")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(stored_hash: str | None, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(stored_hash or _DUMMY, password) and stored_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)
