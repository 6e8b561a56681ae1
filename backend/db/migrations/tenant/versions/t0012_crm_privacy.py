"""CRM privacy: contacts.erased_at (set when a contact's personal data was erased on request)

Revision ID: t0012
Revises: t0011
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "t0012"
down_revision = "t0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("contacts", sa.Column("erased_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("contacts", "erased_at")
