"""Where a service or a consumer keeps its data: a SQLite file (the embedded default) or a
schema in a PostgreSQL database. Both open as the same `adapters.sql.Database`."""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from adapters import postgres, sqlite
from adapters.sql import Database, Migrations, Transaction


@dataclass(frozen=True)
class PostgresSchema:
    """A schema of its own (created on first use) in the database at `url`."""

    url: str = field(repr=False)  # holds the password
    schema: str


Location = Path | PostgresSchema


def database(
    location: Location,
    migrations: Migrations,
    seed: Callable[[Transaction], None] | None = None,
) -> Database:
    """The database at `location`, not opened yet."""
    if isinstance(location, PostgresSchema):
        return postgres.Database(location.url, location.schema, migrations, seed)
    return sqlite.Database(location, migrations, seed)
