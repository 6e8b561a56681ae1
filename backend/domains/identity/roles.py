"""Roles and what they may do at the platform level."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MANAGER = "manager"
    REP = "rep"
    ACCOUNTANT = "accountant"
    SUPPORT = "support"
    VIEWER = "viewer"


ALL_ROLES: frozenset[str] = frozenset(r.value for r in Role)
ADMINS: frozenset[str] = frozenset({Role.OWNER, Role.ADMIN})
EVERYONE: frozenset[str] = ALL_ROLES


def can_grant(actor_role: str, target_role: str) -> bool:
    """Owners grant anything; admins grant anything but owner; nobody else grants."""
    if actor_role == Role.OWNER:
        return True
    if actor_role == Role.ADMIN:
        return target_role != Role.OWNER
    return False
