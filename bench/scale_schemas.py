"""The PostgreSQL schemas a `--scale` run made, dropped at its end."""

import psycopg
from psycopg import sql


def drop_schemas(url: str, prefix: str) -> list[str]:
    """Drop every schema whose name starts with `prefix`; the names dropped."""
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)", (prefix,)
            )
        ]
        for name in names:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))
    return names
