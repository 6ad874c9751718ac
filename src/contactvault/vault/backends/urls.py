"""``postgresql://`` URLs: the schema a vault lives in, and the URL as messages may show it.

Pure text handling (no database driver), so that the command line and error messages can name a
PostgreSQL vault without the optional extra installed, and never show its password.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit, urlunsplit

from contactvault.errors import VaultError

__all__ = ["DEFAULT_SCHEMA", "parse_url"]

DEFAULT_SCHEMA = "contactvault"
"""The schema of a vault whose URL names none."""

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_SHOWN_PARAMETERS = frozenset({"host", "hostaddr", "port", "dbname", "user", "sslmode"})


def parse_url(url: str) -> tuple[str, str, str]:
    """``(conninfo, schema, location)``: the URL for libpq (with its password), the schema, the URL to show.

    The schema must match ``[a-z_][a-z0-9_]{0,62}``, not start with ``pg_``; else ``VaultError``.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        raise VaultError("not a valid postgresql:// URL") from None
    if parts.scheme.lower() not in ("postgresql", "postgres"):
        raise VaultError("not a postgresql:// URL")
    named = [(unquote(piece.partition("=")[0]), piece) for piece in parts.query.split("&") if piece]
    schemas = [unquote(piece.partition("=")[2]) for name, piece in named if name == "schema"]
    schema = schemas[0] if len(schemas) == 1 else DEFAULT_SCHEMA if not schemas else ""
    if not _SCHEMA_NAME.fullmatch(schema) or schema.startswith("pg_"):
        raise VaultError("the URL's schema (once) must be 1 to 63 of a-z, 0-9 and _, not 0-9 or pg_ first")
    rest = "&".join(piece for name, piece in named if name != "schema")
    userinfo, at, hostport = parts.netloc.rpartition("@")
    netloc = f"{userinfo.partition(':')[0]}@{hostport}" if at else hostport
    shown = "&".join([*(piece for name, piece in named if name in _SHOWN_PARAMETERS), f"schema={schema}"])
    location = urlunsplit((parts.scheme, netloc, parts.path, shown, ""))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, rest, "")), schema, location
