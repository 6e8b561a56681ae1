"""dictionary of name words for typo-tolerant search (filled from the existing names); e-mail prefix index

Revision ID: t0013
Revises: t0008
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "t0013"
down_revision = "t0008"
branch_labels = None
depends_on = None

# The words of every existing name, as the services add them from now on (crm/search_words.py).
FILL = (
    "INSERT INTO search_words (word) SELECT word FROM (SELECT "
    "unnest(tsvector_to_array(to_tsvector('simple'::regconfig, name::text))) AS word FROM accounts UNION "
    "SELECT unnest(tsvector_to_array(to_tsvector('simple'::regconfig, registered_name::text))) AS word "
    "FROM legal_entities UNION SELECT unnest(tsvector_to_array(to_tsvector('simple'::regconfig, "
    "full_name::text))) AS word FROM contacts) AS w WHERE length(word) BETWEEN 2 AND 100 AND word !~ '[0-9]' "
    "ON CONFLICT DO NOTHING"
)


def upgrade() -> None:
    op.create_table("search_words", sa.Column("word", sa.String(length=100), nullable=False),
                    sa.PrimaryKeyConstraint("word", name=op.f("pk_search_words")))
    op.create_index(op.f("ix_search_words_word_trgm"), "search_words", ["word"], postgresql_using="gin",
                    postgresql_ops={"word": "gin_trgm_ops"})
    op.execute(FILL)
    op.execute("ANALYZE search_words")
    # e-mail prefixes ("kim.minji", "contact1234") through a btree range instead of trigrams
    op.execute("CREATE INDEX ix_contacts_email_prefix ON contacts USING btree (lower((email)::text) text_pattern_ops)")


def downgrade() -> None:
    op.drop_index("ix_contacts_email_prefix", table_name="contacts")
    op.drop_index(op.f("ix_search_words_word_trgm"), table_name="search_words")
    op.drop_table("search_words")
