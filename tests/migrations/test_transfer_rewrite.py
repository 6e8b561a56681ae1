"""The import rewrite touches DDL and COPY headers only, and strips settings older servers reject."""

from __future__ import annotations

from tenants.transfer import rename_schema

OLD, NEW = "t_" + "a" * 32, "t_" + "b" * 32

DUMP = f"""SET statement_timeout = 0;
SET transaction_timeout = 0;
CREATE TABLE {OLD}.notes (id integer, body text);
COPY {OLD}.notes (id, body) FROM stdin;
1\tmentions {OLD}.notes inside data
2\tSET transaction_timeout = 0;
\\.
ALTER TABLE ONLY {OLD}.notes ADD CONSTRAINT notes_pkey PRIMARY KEY (id);
""".encode()


def test_rewrite_renames_outside_copy_data_and_drops_new_server_settings() -> None:
    out = rename_schema(DUMP, OLD, NEW).decode()
    lines = out.splitlines()
    assert f"CREATE TABLE {NEW}.notes (id integer, body text);" in lines
    assert f"COPY {NEW}.notes (id, body) FROM stdin;" in lines
    assert f"ALTER TABLE ONLY {NEW}.notes ADD CONSTRAINT notes_pkey PRIMARY KEY (id);" in lines
    assert f"1\tmentions {OLD}.notes inside data" in lines  # tenant data is never edited
    assert "2\tSET transaction_timeout = 0;" in lines  # not even when it looks like a setting
    assert "SET transaction_timeout = 0;" not in lines
    assert "SET statement_timeout = 0;" in lines
