"""The tables of a PostgreSQL vault: how they are created, and what the catalog must say of them.

``postgres.PostgresBackend`` creates a vault's schema with ``DDL`` and, at every open, compares what
PostgreSQL's catalog says of its tables (``CATALOG``) with ``EXPECTED``: a column, type, constraint or index
changed by hand is ``VaultCorrupted``.
"""

from __future__ import annotations

from typing import LiteralString

__all__ = ["CATALOG", "DDL", "EXPECTED", "EXPECTED_COLUMNS"]

DDL: tuple[LiteralString, ...] = (
    "CREATE SCHEMA {schema}",
    "CREATE TABLE {schema}.meta (key text PRIMARY KEY, value text NOT NULL)",
    "CREATE TABLE {schema}.header (id integer PRIMARY KEY CHECK (id = 1), data bytea NOT NULL)",
    "CREATE TABLE {schema}.state (id integer PRIMARY KEY CHECK (id = 1), data bytea NOT NULL)",
    "CREATE TABLE {schema}.contacts (seq bigserial PRIMARY KEY, "
    "id bytea NOT NULL UNIQUE CHECK (length(id) = 16), version bigint NOT NULL, directory bytea NOT NULL, "
    "data_key bytea, payload bytea)",
    "CREATE TABLE {schema}.phone_index (tag bytea NOT NULL, contact_id bytea NOT NULL, "
    "PRIMARY KEY (tag, contact_id))",
    "CREATE TABLE {schema}.disclosures (seq bigint PRIMARY KEY CHECK (seq >= 1), record bytea NOT NULL)",
)

# What the catalog says of the vault's tables: "table column type [not null] [default]" for each column,
# "table DEFINITION" for each constraint (upper case), "table invalid index" for a broken index.
CATALOG: LiteralString = """
WITH t AS (SELECT c.oid, c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n
    ON n.oid = c.relnamespace WHERE n.nspname = %(schema)s AND c.relname = ANY(%(tables)s) AND relkind = 'r')
SELECT t.relname || ' ' || a.attname || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod)
    || CASE WHEN attnotnull THEN ' not null' ELSE '' END || CASE WHEN atthasdef THEN ' default' ELSE '' END
FROM t JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid WHERE a.attnum > 0 AND NOT a.attisdropped
UNION ALL SELECT t.relname || ' ' || pg_catalog.pg_get_constraintdef(k.oid)
FROM t JOIN pg_catalog.pg_constraint k ON k.conrelid = t.oid WHERE k.contype <> 'n'
UNION ALL SELECT t.relname || ' invalid index' FROM t JOIN pg_catalog.pg_index i ON i.indrelid = t.oid
WHERE NOT (i.indisvalid AND i.indisready)
"""
EXPECTED_TEXT = """
meta key text not null; meta value text not null; meta PRIMARY KEY (key);
header id integer not null; header data bytea not null; header PRIMARY KEY (id); header CHECK ((id = 1));
state id integer not null; state data bytea not null; state PRIMARY KEY (id); state CHECK ((id = 1));
contacts seq bigint not null default; contacts id bytea not null; contacts version bigint not null;
contacts directory bytea not null; contacts data_key bytea; contacts payload bytea;
contacts PRIMARY KEY (seq); contacts UNIQUE (id); contacts CHECK ((length(id) = 16));
phone_index tag bytea not null; phone_index contact_id bytea not null;
phone_index PRIMARY KEY (tag, contact_id); disclosures seq bigint not null; disclosures record bytea not null;
disclosures PRIMARY KEY (seq); disclosures CHECK ((seq >= 1))"""
EXPECTED = frozenset(" ".join(line.split()) for line in EXPECTED_TEXT.split(";"))
EXPECTED_COLUMNS = frozenset(line for line in EXPECTED if line.islower())  # no constraint
