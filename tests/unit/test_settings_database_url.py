"""PODIUM_DATABASE_URL: read and checked, never shown (the services do not use it yet)."""

import pytest
from pydantic import ValidationError

from contracts.problems import describe
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
