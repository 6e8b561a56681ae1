"""full-text (tsvector) and digit indexes for CRM search

Revision ID: t0009
Revises: t0007
Create Date: 2026-11-23
"""

from alembic import op

revision = "t0009"
down_revision = "t0007"
branch_labels = None
depends_on = None

# (index, table, expression, operator class or None): see backend/domains/crm/search_indexes.py
INDEXES = (
    ("ix_accounts_name_fts", "accounts", "to_tsvector('simple'::regconfig, (name)::text)", None),
    ("ix_contacts_full_name_fts", "contacts", "to_tsvector('simple'::regconfig, (full_name)::text)", None),
    ("ix_legal_entities_registered_name_fts", "legal_entities",
     "to_tsvector('simple'::regconfig, (registered_name)::text)", None),
    ("ix_contacts_phone_trgm", "contacts", "phone", "gin_trgm_ops"),
    ("ix_legal_entities_tax_digits_trgm", "legal_entities",
     "regexp_replace((tax_id)::text, '[^0-9A-Za-z]'::text, ''::text, 'g'::text)", "gin_trgm_ops"),
)


def upgrade() -> None:
    for name, table, expression, opclass in INDEXES:
        target = f"({expression}) {opclass}" if opclass else f"({expression})"
        op.execute(f"CREATE INDEX {name} ON {table} USING gin ({target})")


def downgrade() -> None:
    for name, _, _, _ in INDEXES:
        op.execute(f"DROP INDEX {name}")
