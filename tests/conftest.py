"""Fixtures shared across test folders: one throwaway PostgreSQL cluster per session."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest

from tests.pg_cluster import Cluster, cluster


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """A PostgreSQL cluster for the whole session (skips when PostgreSQL or psycopg is
    missing, saying which)."""
    if importlib.util.find_spec("psycopg") is None:
        pytest.skip("psycopg is not installed (the 'postgres' extra)")
    try:
        with cluster() as running:
            yield running
    except FileNotFoundError as error:
        pytest.skip(str(error))
