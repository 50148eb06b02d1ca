"""Which database a command uses: --db, then $BYSECOND_DATABASE_URL, then the default."""

from __future__ import annotations

from pathlib import Path

import pytest

from bysecond.store.database import (
    DATABASE_URL_ENV,
    default_database_url,
    printable_url,
    resolve_database_url,
)


def test_the_default_is_an_sqlite_file_in_the_users_data_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_database_url() == f"sqlite:///{tmp_path}/bysecond/bysecond.sqlite3"
    assert resolve_database_url(None) == default_database_url()


def test_the_environment_variable_overrides_the_default_and_the_option_overrides_both(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(DATABASE_URL_ENV, "sqlite:////var/lib/bysecond.sqlite3")
    assert resolve_database_url(None) == "sqlite:////var/lib/bysecond.sqlite3"
    assert resolve_database_url("sqlite:////tmp/other.sqlite3") == "sqlite:////tmp/other.sqlite3"


@pytest.mark.parametrize(
    ("given", "used"),
    [
        (
            "postgresql://billing@db.internal/bysecond",
            "postgresql+psycopg://billing@db.internal/bysecond",
        ),
        (
            "postgres://billing@db.internal:5433/bysecond",
            "postgresql+psycopg://billing@db.internal:5433/bysecond",
        ),
        ("postgresql+psycopg://billing@db/bysecond", "postgresql+psycopg://billing@db/bysecond"),
        ("sqlite:///relative.sqlite3", "sqlite:///relative.sqlite3"),
    ],
)
def test_postgresql_urls_select_psycopg_3(given: str, used: str) -> None:
    assert resolve_database_url(given) == used


def test_a_bare_path_is_an_sqlite_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_database_url("billing.sqlite3") == f"sqlite:///{tmp_path}/billing.sqlite3"


def test_passwords_are_hidden_when_a_url_is_shown() -> None:
    shown = printable_url("postgresql+psycopg://billing:s3cret@db/bysecond")
    assert "s3cret" not in shown and "billing" in shown
