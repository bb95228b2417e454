"""The databases a service or store test runs on: a SQLite file in the test's folder, or a
fresh schema in a real private PostgreSQL cluster (Debian's postgresql, started through
infra/stack/postgres.py once per session and shared by every PostgreSQL test)."""

import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import SecretStr

from adapters.storage import Location, PostgresSchema
from infra.stack import StackConfig
from infra.stack.postgres import PostgresCluster
from workers.runtime.settings import Settings

BACKENDS = ("sqlite", "postgresql")

Places = Callable[[str], Location]
"""Where the test's database of this name lives (the same place for the same name)."""


@contextmanager
def postgres_cluster() -> Iterator[str]:
    """A private cluster for the session; yields the application role's URL."""
    # Not pytest's tmp_path: it sits in a 0700 folder of root's, which the `postgres` account
    # (the cluster's, when the tests run as root) could not pass through.
    home = Path(tempfile.mkdtemp(prefix="podium-pg-"))
    cluster = PostgresCluster(StackConfig.ephemeral(home, with_postgres=True))
    try:
        cluster.start()
        password = cluster.password(create=False)
        assert password is not None
        yield cluster.url(password)
    finally:
        cluster.stop()
        shutil.rmtree(home, ignore_errors=True)


def sqlite_places(folder: Path) -> Places:
    return lambda name: folder / f"{name}.db"


def postgres_places(url: str) -> Places:
    """Schemas no other test uses: each test starts from empty databases."""
    test = uuid.uuid4().hex[:12]
    return lambda name: PostgresSchema(url, f"t{test}_{name}")


def on_postgres(settings: Settings, url: str) -> Settings:
    """`settings` with every service and consumer store in fresh schemas at `url`."""
    prefix = f"t{uuid.uuid4().hex[:12]}_"
    return settings.model_copy(
        update={"database_url": SecretStr(url), "database_schema_prefix": prefix}
    )
