"""The local stack with `--postgres` against a real PostgreSQL cluster (Debian's postgresql).

The tests share one ephemeral stack and run in file order: they follow its life cycle.
"""

import os
import shutil
import socket
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from infra.stack import LocalStack, StackConfig, StackError, StackInfo
from infra.stack.local import env_text
from workers.runtime.redaction import REDACTED
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration


def _home() -> Path:
    # Not pytest's tmp_path: it sits in a 0700 folder of root's, which the `postgres` account
    # (the cluster's, when the tests run as root) could not pass through.
    return Path(tempfile.mkdtemp(prefix="podium-pg-"))


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    home = _home()
    stack = LocalStack(StackConfig.ephemeral(home, with_postgres=True))
    try:
        yield stack
    finally:
        stack.down()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def info(stack: LocalStack) -> StackInfo:
    return stack.up()


def _connect(url: str, **kwargs: str) -> psycopg.Connection:
    return psycopg.connect(url, connect_timeout=5, **kwargs)


def test_up_writes_the_app_role_url_to_stack_env(stack: LocalStack, info: StackInfo) -> None:
    url = info.database_url
    assert url is not None
    parts = urlsplit(url)
    assert (parts.scheme, parts.hostname, parts.port) == (
        "postgresql",
        "127.0.0.1",
        stack.config.postgres_port,
    )
    assert (parts.username, parts.path) == ("podium", "/podium")
    assert f"PODIUM_DATABASE_URL={url}\n" in stack.env_file.read_text()
    settings = Settings(_env_file=stack.env_file)  # type: ignore[call-arg]
    assert settings.database_url is not None
    assert settings.database_url.get_secret_value() == url


def test_the_app_role_logs_in_over_tcp_and_owns_its_database(info: StackInfo) -> None:
    assert info.database_url is not None
    with _connect(info.database_url) as conn:
        user, db, superuser = conn.execute(
            "SELECT current_user, current_database(), rolsuper FROM pg_roles"
            " WHERE rolname = current_user"
        ).fetchone() or ("", "", True)
        assert (user, db, superuser) == ("podium", "podium", False)
        conn.execute("CREATE TABLE probe (id int PRIMARY KEY)")
        conn.execute("INSERT INTO probe VALUES (1)")
        assert conn.execute("SELECT count(*) FROM probe").fetchone() == (1,)
        assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
        assert conn.execute("SHOW password_encryption").fetchone() == ("scram-sha-256",)


@pytest.mark.parametrize(
    ("user", "password", "dbname"),
    [
        ("postgres", "", "postgres"),  # the superuser, never over TCP
        ("postgres", "", "podium"),
        ("podium", "not-the-password", "podium"),
        ("podium", None, "postgres"),  # the app role, right password, other database
    ],
)
def test_tcp_logins_other_than_the_app_role_to_its_database_are_refused(
    info: StackInfo, user: str, password: str | None, dbname: str
) -> None:
    assert info.database_url is not None
    parts = urlsplit(info.database_url)
    with pytest.raises(psycopg.OperationalError):
        _connect(
            f"postgresql://127.0.0.1:{parts.port}/",
            user=user,
            password=(parts.password or "") if password is None else password,
            dbname=dbname,
        )


def test_nothing_listens_beyond_loopback(stack: LocalStack, info: StackInfo) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: only picks the outward address
            outward = probe.getsockname()[0]
        except OSError:
            pytest.skip("no network interface besides loopback")
    if outward.startswith("127."):
        pytest.skip("no network interface besides loopback")
    with socket.socket() as sock:
        sock.settimeout(2)
        assert sock.connect_ex((outward, stack.config.postgres_port)) != 0


def test_the_cluster_files_are_private_and_its_socket_is_its_own(
    stack: LocalStack, info: StackInfo
) -> None:
    cluster = stack.postgres
    for path in (cluster.credentials_file, stack.env_file):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    for folder in (cluster.data, cluster.socket_dir):
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert cluster.data.is_relative_to(stack.config.home)
    sockets = [p.name for p in cluster.socket_dir.iterdir()]
    assert f".s.PGSQL.{stack.config.postgres_port}" in sockets
    assert f"password={urlsplit(info.database_url or '').password}\n" in (
        cluster.credentials_file.read_text()
    )


def test_up_again_finds_the_same_cluster(stack: LocalStack, info: StackInfo) -> None:
    before = stack.status().postgres
    assert before is not None and before.running
    assert stack.up() == info
    after = stack.status().postgres
    assert after is not None and after.pid == before.pid


def test_status_shows_the_cluster_with_its_password_masked(
    stack: LocalStack, info: StackInfo
) -> None:
    status = stack.status()
    assert status.running and status.postgres is not None
    assert status.postgres.ports == {"sql": stack.config.postgres_port}
    text = status.describe()
    password = urlsplit(info.database_url or "").password
    assert password and password not in text.split("PostgreSQL:")[1]
    assert f"postgresql://podium:{REDACTED}@127.0.0.1:{stack.config.postgres_port}/podium" in text


def test_a_second_stack_gets_its_own_cluster(stack: LocalStack, info: StackInfo) -> None:
    home = _home()
    other = LocalStack(StackConfig.ephemeral(home, with_postgres=True))
    try:
        other.postgres.start()
        password = other.postgres.password(create=False)
        assert password is not None
        url = other.postgres.url(password)
        assert other.config.postgres_port != stack.config.postgres_port
        assert other.postgres.data != stack.postgres.data
        with _connect(url) as conn:
            assert conn.execute(
                "SELECT count(*) FROM pg_tables WHERE tablename = 'probe'"
            ).fetchone() == (0,)
        # Each cluster knows only its own password.
        first = urlsplit(info.database_url or "").password or ""
        with pytest.raises(psycopg.OperationalError):
            _connect(url, password=first)
    finally:
        other.postgres.stop()
        shutil.rmtree(home, ignore_errors=True)
    assert stack.status().postgres is not None


def test_down_stops_the_cluster_and_status_says_so(stack: LocalStack, info: StackInfo) -> None:
    assert info.database_url is not None
    stack.down()
    status = stack.status()
    assert status.postgres is not None and not status.postgres.running
    assert not stack.postgres.pid_file.exists()
    assert "postgres  stopped" in status.describe()
    with pytest.raises(psycopg.OperationalError):
        _connect(info.database_url)
    stack.down()


def test_a_taken_port_is_one_clear_error() -> None:
    home = _home()
    try:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            config = replace(StackConfig.ephemeral(home), postgres_port=taken.getsockname()[1])
            with pytest.raises(StackError, match="is taken by another process"):
                LocalStack(config).postgres.start()
    finally:
        shutil.rmtree(home, ignore_errors=True)


def test_a_stack_without_postgres_has_no_cluster_and_no_database_url(tmp_path: Path) -> None:
    stack = LocalStack(StackConfig.ephemeral(tmp_path))
    assert stack.status().postgres is None
    lines = stack.status().describe().splitlines()
    assert not [line for line in lines if line.lower().startswith("postgres")]
    plain = StackInfo(
        temporal_address="localhost:1",
        temporal_ui_url="http://localhost:2",
        amqp_url="amqp://podium:x@localhost:3/podium",
        management_url=None,
        management_user="podium",
        management_password="x",
        env_file=tmp_path / "stack.env",
        smtp_port=4,
        mail_dir=tmp_path / "mail",
    )
    assert "DATABASE_URL" not in env_text(plain)
