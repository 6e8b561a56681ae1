"""Declarative bases.

``SharedBase`` models live in schema ``shared`` and are always schema-qualified.
``TenantBase`` models are unqualified: they resolve through the transaction-local
search_path that ``tenants.scope.tenant_scope`` sets, so a query outside a tenant
scope fails loudly instead of reading another tenant's rows.
"""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

SHARED_SCHEMA = "shared"
EXTENSIONS_SCHEMA = "ext"

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class SharedBase(DeclarativeBase):
    metadata = MetaData(schema=SHARED_SCHEMA, naming_convention=NAMING_CONVENTION)


class TenantBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
