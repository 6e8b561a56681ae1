"""Who sees and edits which CRM records. The rule, stated once:

* owner, admin, manager: see and edit every record;
* rep: sees and edits records they own, plus records marked shared (and unowned ones);
* accountant, support, viewer: see every record, edit none;
* an API key acts with its role; a rep-level key owns nothing, so it sees shared and unowned records.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_

from backend.kit.errors import Forbidden

MANAGE_ALL = frozenset({"owner", "admin", "manager"})
READ_ALL = MANAGE_ALL | {"accountant", "support", "viewer"}
OWN_ONLY = frozenset({"rep"})


@dataclass(frozen=True, slots=True)
class CrmActor:
    role: str
    user_id: uuid.UUID | None
    api_key_id: uuid.UUID | None = None

    @property
    def sees_all(self) -> bool:
        return self.role in READ_ALL

    @property
    def edits_all(self) -> bool:
        return self.role in MANAGE_ALL

    @property
    def may_write(self) -> bool:
        return self.role in MANAGE_ALL or self.role in OWN_ONLY


def visible_clause(actor: CrmActor, owner_column: Any, shared_column: Any | None = None, *,
                   user: Any = None) -> Any:
    """A WHERE clause limiting a query to what ``actor`` may see (None: no limit). ``user``: an expression (a bind
    parameter) standing for the actor's user id, for statements built once and reused."""
    if actor.sees_all:
        return None
    parts = [owner_column.is_(None)]
    if actor.user_id is not None:
        parts.append(owner_column == (actor.user_id if user is None else user))
    if shared_column is not None:
        parts.append(shared_column.is_(True))
    return or_(*parts)


def can_see(actor: CrmActor, owner: uuid.UUID | None, shared: bool = False) -> bool:
    return actor.sees_all or owner is None or shared or (actor.user_id is not None and owner == actor.user_id)


def require_edit(actor: CrmActor, owner: uuid.UUID | None, shared: bool = False) -> None:
    if actor.edits_all:
        return
    if actor.role in OWN_ONLY and can_see(actor, owner, shared):
        return
    raise Forbidden("Your role cannot change this record.", "crm_read_only")


def require_create(actor: CrmActor) -> None:
    if not actor.may_write:
        raise Forbidden("Your role cannot create records.", "crm_read_only")
