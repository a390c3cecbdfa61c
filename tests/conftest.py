"""Shared fixtures: a fresh warehouse on SQLite and on the real PostgreSQL server.

PostgreSQL tests use one schema per test in the server named by RECON_TEST_POSTGRES_URL
(default: the local `test` database). Locally they skip when no server answers; under
CI=true they fail instead, so a CI run never passes without them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from recon.warehouse.db import close_warehouses, open_warehouse, upgrade

PG_URL = os.environ.get(
    "RECON_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _postgres_available() -> str | None:
    try:
        with create_engine(PG_URL).connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    return None


@pytest.fixture(scope="session")
def postgres_url() -> str:
    problem = _postgres_available()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {PG_URL} is required under CI=true: {problem}")
        pytest.skip(f"PostgreSQL not available: {problem}")
    return PG_URL


@pytest.fixture
def pg_schema_url(postgres_url: str) -> Iterator[str]:
    """A URL whose connections live in a fresh, private schema; dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in postgres_url else "?"
    yield f"{postgres_url}{sep}options=-csearch_path%3D{schema}"
    close_warehouses()  # no pooled connection into the schema dropped next
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture(autouse=True)
def _warehouses_of_this_test() -> Iterator[None]:
    """The process keeps one warehouse per URL: each test's are disposed of after it."""
    yield
    close_warehouses()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/recon.db"
    return str(request.getfixturevalue("pg_schema_url"))


@pytest.fixture
def warehouse(warehouse_url: str) -> Iterator[Engine]:
    upgrade(warehouse_url)  # as `recon db upgrade` does; opening never migrates
    engine = open_warehouse(warehouse_url, create=False).engine
    yield engine
    engine.dispose()
