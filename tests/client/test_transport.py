"""Targets, TLS rules, environment fallbacks, metadata and channel sharing."""

from __future__ import annotations

import grpc
import pytest
from textgen.v1 import model_pb2

import textgen
from tests.client.conftest import Api
from tests.client.stub_server import StubServer
from textgen import _transport
from textgen.resources.models import GET_MODEL

MODEL = model_pb2.Model(name="models/x")


@pytest.mark.parametrize(
    "target",
    [
        "127.0.0.1:5",
        "127.1.2.3:5",
        "localhost:5",
        "[::1]:5",
        "ipv4:127.0.0.1:5",
        "ipv6:[::1]:5",
        "dns:///localhost:5",
        "unix:/tmp/sock",
        "unix-abstract:x",
    ],
)
def test_loopback_targets(target: str) -> None:
    assert _transport.is_loopback(target)
    assert _transport.resolve_endpoint(target, None).credentials is None
    assert _transport.resolve_endpoint(target, "insecure").credentials is None


@pytest.mark.parametrize(
    "target", ["example.com:443", "10.0.0.1:5", "[2001:db8::1]:5", "dns:///a.b:1"]
)
def test_remote_targets_use_tls_and_refuse_plaintext(target: str) -> None:
    assert not _transport.is_loopback(target)
    assert _transport.resolve_endpoint(target, None).credentials is not None
    with pytest.raises(ValueError, match="insecure"):
        _transport.resolve_endpoint(target, "insecure")


def test_given_credentials_are_used() -> None:
    creds = grpc.ssl_channel_credentials()
    assert _transport.resolve_endpoint("127.0.0.1:1", creds).credentials is creds


def test_target_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_transport.ENDPOINT_ENV, "api.example.com:443")
    monkeypatch.setenv(_transport.EMULATOR_ENV, "emulator:8080")
    endpoint = _transport.resolve_endpoint(None, None)
    assert endpoint.target == "api.example.com:443"
    assert endpoint.credentials is not None


def test_emulator_may_be_plaintext(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_transport.ENDPOINT_ENV, raising=False)
    monkeypatch.setenv(_transport.EMULATOR_ENV, "emulator:8080")
    endpoint = _transport.resolve_endpoint(None, None)
    assert endpoint == _transport.Endpoint("emulator:8080", None)
    assert _transport.resolve_endpoint("emulator:8080", "insecure").credentials is None


def test_no_target_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_transport.ENDPOINT_ENV, raising=False)
    monkeypatch.delenv(_transport.EMULATOR_ENV, raising=False)
    with pytest.raises(ValueError, match="TEXTGEN_ENDPOINT"):
        textgen.Client()


def test_bad_options_are_rejected() -> None:
    with pytest.raises(ValueError):
        textgen.Client("127.0.0.1:1", timeout=0)
    with pytest.raises(ValueError):
        textgen.Client("127.0.0.1:1", max_retries=-1)


async def test_api_key_and_metadata_are_sent(api: Api, stub: StubServer) -> None:
    stub.script(GET_MODEL, MODEL)
    keyed = api.other(api_key="secret", metadata=[("x-trace", "t1")])
    await keyed(lambda c: c.models.get("x"))
    (received,) = stub.calls(GET_MODEL)
    assert received.metadata["x-api-key"] == "secret"
    assert received.metadata["x-trace"] == "t1"
    assert received.metadata["user-agent"].startswith("textgen-python/")


async def test_api_key_from_environment(
    api: Api, stub: StubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(_transport.API_KEY_ENV, "from-env")
    stub.script(GET_MODEL, MODEL)
    await api.other()(lambda c: c.models.get("x"))
    assert stub.calls(GET_MODEL)[0].metadata["x-api-key"] == "from-env"


async def test_target_from_emulator_env(
    api: Api, stub: StubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(_transport.ENDPOINT_ENV, raising=False)
    monkeypatch.setenv(_transport.EMULATOR_ENV, stub.target)
    stub.script(GET_MODEL, MODEL)
    client = api.other(target=None)
    assert await client(lambda c: c.models.get("x")) == MODEL
    assert client.client.target == stub.target


async def test_with_options_shares_the_channel(api: Api, stub: StubServer) -> None:
    stub.script(GET_MODEL, MODEL)
    quick = api.client.with_options(timeout=3)
    assert quick.timeout == 3 and api.client.timeout == 10
    assert quick.max_retries == api.client.max_retries
    assert type(quick) is type(api.client)
    assert await api(lambda c: quick.models.get("x")) == MODEL
    assert await api(lambda c: c.models.get("x")) == MODEL
    assert quick._runner.pool is api.client._runner.pool
    assert len(quick._runner.pool._channels) == 1


def test_closed_client_refuses_calls(stub: StubServer) -> None:
    stub.script(GET_MODEL, MODEL)
    with textgen.Client(stub.target) as client:
        assert client.models.get("x") == MODEL
        assert "127.0.0.1" in repr(client)
    with pytest.raises(RuntimeError, match="closed"):
        client.models.get("x")


async def test_async_client_context_manager(stub: StubServer) -> None:
    stub.script(GET_MODEL, MODEL)
    async with textgen.AsyncClient(stub.target) as client:
        assert await client.models.get("x") == MODEL
    with pytest.raises(RuntimeError, match="closed"):
        await client.models.get("x")
