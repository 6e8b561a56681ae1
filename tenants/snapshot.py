"""The tenant head schema as one DDL script, derived from the tenant metadata.

Provisioning executes this script (one round trip) instead of replaying the
migration history per signup. ``tests/migrations`` proves that replaying the
tenant tree and applying this snapshot give the same schema.
"""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex, CreateTable

from backend.models import tenant_metadata

_dialect = postgresql.dialect()  # type: ignore[no-untyped-call]


@lru_cache(maxsize=4)
def tenant_ddl(revision: str) -> str:
    """DDL for every tenant table, the functions and triggers tables declare in ``info["ddl"]``, plus the Alembic
    version row at ``revision``."""
    statements: list[str] = []
    for table in tenant_metadata.sorted_tables:
        statements.append(str(CreateTable(table).compile(dialect=_dialect)).strip())
        for index in sorted(table.indexes, key=lambda ix: ix.name or ""):
            statements.append(str(CreateIndex(index).compile(dialect=_dialect)).strip())
    for table in tenant_metadata.sorted_tables:  # functions and triggers, once every table exists
        statements.extend(table.info.get("ddl", ()))
    statements.append(
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
        "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
    )
    if not revision.isalnum():
        raise ValueError(f"unexpected revision id {revision!r}")
    statements.append(f"INSERT INTO alembic_version (version_num) VALUES ('{revision}')")
    return ";\n".join(statements) + ";\n"
