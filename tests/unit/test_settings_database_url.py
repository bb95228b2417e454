"""PODIUM_DATABASE_URL: read and checked, never shown."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from adapters.storage import PostgresSchema
from bench.environment import bench_settings
from contracts.problems import describe
from workers.bootstrap import service_location
from workers.runtime.settings import Settings


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://podium:s3cret@127.0.0.1:5439/podium",
        "postgres://podium:s3cret@db.example:5432/shop?sslmode=require",
        "postgresql:///podium?host=/run/postgresql",
    ],
)
def test_a_postgresql_url_is_accepted_and_kept_secret(url: str) -> None:
    settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
    assert settings.database_url is not None
    assert settings.database_url.get_secret_value() == url
    assert "s3cret" not in repr(settings) and "s3cret" not in str(settings.database_url)


def test_no_database_url_by_default() -> None:
    assert Settings(_env_file=None).database_url is None  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "url",
    ["sqlite:///x.db", "mysql://u:s3cret@h/db", "postgresql://", "s3cret", "http://u:s3cret@h/"],
)
def test_anything_but_a_postgresql_url_is_refused_without_quoting_it(url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
    line = describe(caught.value, "settings")
    assert "database_url" in line and "postgresql://" in line
    assert "s3cret" not in line


def test_the_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PODIUM_DATABASE_URL", "postgresql://podium:pw@127.0.0.1:5439/podium")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.database_url is not None


def test_services_use_sqlite_files_without_a_url(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    assert service_location(settings, "orders") == tmp_path / "orders.db"
    assert service_location(settings, "payments") == tmp_path / "payments.db"


def test_each_service_gets_its_schema_and_its_own_url_wins() -> None:
    shared, own = "postgresql://p:pw@127.0.0.1:5439/podium", "postgresql://p:pw@db2:5432/pay"
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=shared,
        payments_database_url=own,
        database_schema_prefix="shop1_",
    )
    assert service_location(settings, "orders") == PostgresSchema(shared, "shop1_orders")
    assert service_location(settings, "inventory") == PostgresSchema(shared, "shop1_inventory")
    assert service_location(settings, "payments") == PostgresSchema(own, "shop1_payments")
    assert "pw" not in repr(service_location(settings, "orders"))


@pytest.mark.parametrize("prefix", ["Shop", "a-b", "x;drop", "a" * 31])
def test_a_schema_prefix_outside_a_z_0_9_is_refused(prefix: str) -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, database_schema_prefix=prefix)  # type: ignore[call-arg]


def test_a_bench_run_keeps_its_databases_in_its_own_folder(tmp_path: Path) -> None:
    base = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url="postgresql://p:pw@127.0.0.1:5439/podium",
        inventory_database_url="postgresql://p:pw@db2:5432/stock",
    )
    run = bench_settings(base, "podium-bench-x", tmp_path)
    assert service_location(run, "inventory") == tmp_path / "inventory.db"
    assert run.database_url is None
