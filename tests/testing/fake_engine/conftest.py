"""Fixtures: `live`, a Client or AsyncClient (each test runs with both) on a fresh FakeServer,
borrowed from the client tests."""

from __future__ import annotations

from tests.client.conftest import fake, flavour, kind, live

__all__ = ["fake", "flavour", "kind", "live"]
