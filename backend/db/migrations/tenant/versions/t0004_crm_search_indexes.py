"""trigram indexes for typo-tolerant CRM search

Revision ID: t0004
Revises: t0003
Create Date: 2026-11-23
"""

from alembic import op

revision = "t0004"
down_revision = "t0003"
branch_labels = None
depends_on = None

# (index, table, column): GIN trigram indexes; gin_trgm_ops resolves through the `ext` schema on the path.
INDEXES = (
    ("ix_accounts_name_trgm", "accounts", "name"),
    ("ix_contacts_full_name_trgm", "contacts", "full_name"),
    ("ix_contacts_email_trgm", "contacts", "email"),
    ("ix_legal_entities_registered_name_trgm", "legal_entities", "registered_name"),
    ("ix_legal_entities_tax_id_trgm", "legal_entities", "tax_id"),
)


def upgrade() -> None:
    for name, table, column in INDEXES:
        op.create_index(op.f(name), table, [column], postgresql_using="gin",
                        postgresql_ops={column: "gin_trgm_ops"})


def downgrade() -> None:
    for name, table, _ in INDEXES:
        op.drop_index(op.f(name), table_name=table)
