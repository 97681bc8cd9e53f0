"""Retries: one RetryPolicy, one request budget per call whichever layer resends, one deadline.

Every test counts the requests that reached the stub server, so a retry hidden in gRPC's own
layer is counted as surely as one made by the client's loop.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import grpc
import pytest
from google.protobuf import duration_pb2, empty_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from textgen.v1 import model_pb2

import textgen
import textgen.contract  # loads every service into the pool
from tests.client.conftest import Api
from tests.client.stub_server import StubServer, status
from textgen import _calls, _transport, errors
from textgen._waiting import DELETE_OPERATION
from textgen.resources._content import STREAM_GENERATE_CONTENT
from textgen.resources.models import GET_MODEL
from textgen.retry import GRPC_MAX_ATTEMPTS, RetryPolicy

MODEL = model_pb2.Model(name="models/x")
APIS = ("textgen", "generativelanguage", "yandex")
UNAVAILABLE = status(grpc.StatusCode.UNAVAILABLE, "try again")
# Short waits, so that large budgets run quickly; the budget is what these tests count.
FAST = RetryPolicy(initial_backoff=0.001, max_backoff=0.005)


def _retry_info(seconds: float) -> error_details_pb2.RetryInfo:
    delay = duration_pb2.Duration()
    delay.FromNanoseconds(int(seconds * 1e9))
    return error_details_pb2.RetryInfo(retry_delay=delay)


QUOTA = status(grpc.StatusCode.RESOURCE_EXHAUSTED, "slow down", _retry_info(0.01))


async def test_unavailable_is_retried_up_to_max_retries(api: Api, stub: StubServer) -> None:
    stub.script(GET_MODEL, UNAVAILABLE, UNAVAILABLE, MODEL)
    assert await api(lambda c: c.models.get("x")) == MODEL
    assert len(stub.calls(GET_MODEL)) == 3


async def test_attempts_are_bounded(api: Api, stub: StubServer) -> None:
    stub.script(GET_MODEL, UNAVAILABLE)
    with pytest.raises(errors.Unavailable):
        await api(lambda c: c.models.get("x"))
    assert len(stub.calls(GET_MODEL)) == 3  # max_retries=2


@pytest.mark.parametrize("max_retries", [0, 2, 10])
async def test_unavailable_every_time_sends_exactly_the_budget(
    api: Api, stub: StubServer, max_retries: int
) -> None:
    stub.script(GET_MODEL, UNAVAILABLE)
    client = api.other(retry=replace(FAST, max_retries=max_retries))
    with pytest.raises(errors.Unavailable):
        await client(lambda c: c.models.get("x"))
    assert len(stub.calls(GET_MODEL)) == max_retries + 1  # beyond gRPC's own cap of 5 too


@pytest.mark.parametrize(
    ("steps", "raised"),
    [
        pytest.param((UNAVAILABLE, UNAVAILABLE, QUOTA), errors.ResourceExhausted, id="U-U-Q"),
        pytest.param((UNAVAILABLE, QUOTA), errors.Unavailable, id="U-Q"),
        pytest.param((QUOTA, UNAVAILABLE), errors.ResourceExhausted, id="Q-U"),
    ],
)
async def test_mixed_failures_share_one_budget(
    api: Api, stub: StubServer, steps: tuple[Any, ...], raised: type[errors.APIError]
) -> None:
    # The steps repeat for as long as requests come. Before the budget was shared, each of
    # the RetryInfo loop's 3 attempts held up to 3 of gRPC's: U-U-Q reached 9 requests.
    stub.cycle(GET_MODEL, *steps)
    with pytest.raises(raised):
        await api(lambda c: c.models.get("x"))
    assert len(stub.calls(GET_MODEL)) == 3  # max_retries=2


async def test_a_retry_for_either_reason_spends_the_same_budget(api: Api, stub: StubServer) -> None:
    stub.script(GET_MODEL, UNAVAILABLE, QUOTA, MODEL)
    with pytest.raises(errors.ResourceExhausted):
        await api.other(max_retries=1)(lambda c: c.models.get("x"))
    assert len(stub.calls(GET_MODEL)) == 2


async def test_with_options_max_retries_zero(api: Api, stub: StubServer) -> None:
    stub.script(GET_MODEL, UNAVAILABLE, MODEL)
    with pytest.raises(errors.Unavailable):
        await api(lambda c: c.with_options(max_retries=0).models.get("x"))
    assert len(stub.calls(GET_MODEL)) == 1
    assert await api(lambda c: c.models.get("x")) == MODEL  # the original keeps its retries


async def test_with_options_retry_overrides_the_policy(api: Api, stub: StubServer) -> None:
    stub.script(GET_MODEL, UNAVAILABLE)
    wider = replace(FAST, max_retries=6)
    with pytest.raises(errors.Unavailable):
        await api(lambda c: c.with_options(retry=wider).models.get("x"))
    assert len(stub.calls(GET_MODEL)) == 7
    with pytest.raises(errors.Unavailable):
        await api(lambda c: c.models.get("x"))
    assert len(stub.calls(GET_MODEL)) == 7 + 3  # the original keeps its own policy


async def test_policies_that_grpc_sees_alike_share_a_channel(api: Api, stub: StubServer) -> None:
    stub.script(GET_MODEL, MODEL)
    alike: list[dict[str, Any]] = [
        {"max_retries": 4},
        {"max_retries": 10},  # gRPC lowers both to 5 attempts
        {"max_retries": 0},
        {"retry": RetryPolicy(max_retries=0, initial_backoff=1, max_backoff=1)},  # no config
    ]

    def get_with(options: dict[str, Any]) -> Callable[[Any], Any]:
        return lambda c: c.with_options(**options).models.get("x")

    await api(lambda c: c.models.get("x"))
    for options in alike:
        await api(get_with(options))
    pool = api.client._runner.pool
    assert len(pool._channels) == 5  # the client's own policy and the four above
    assert len(pool._by_config) == 3  # max_retries 2, 4-or-more, 0


@pytest.mark.parametrize("failure", [UNAVAILABLE, QUOTA], ids=["unavailable", "quota"])
async def test_non_idempotent_calls_are_not_retried(
    api: Api, stub: StubServer, failure: Any
) -> None:
    stub.script(DELETE_OPERATION, failure, empty_pb2.Empty())
    with pytest.raises((errors.Unavailable, errors.ResourceExhausted)):
        await api(lambda c: c.operations.delete("operations/1"))
    assert len(stub.calls(DELETE_OPERATION)) == 1


@pytest.mark.parametrize("max_retries", [0, 2, 10])
async def test_streams_are_retried_by_grpc_within_the_budget(
    api: Api, stub: StubServer, max_retries: int
) -> None:
    # StreamGenerateContent: every flavour offers it, under its own name, which the retry
    # service config must name for gRPC to retry it.
    stub.script(STREAM_GENERATE_CONTENT, UNAVAILABLE)
    client = api.other(retry=replace(FAST, max_retries=max_retries))
    with pytest.raises(errors.Unavailable):
        await client.items(lambda c: c.models.stream_generate_content("models/x", "hi"))
    expected = min(max_retries + 1, GRPC_MAX_ATTEMPTS)  # gRPC lowers larger budgets to 5
    assert len(stub.calls(STREAM_GENERATE_CONTENT)) == expected


async def test_resource_exhausted_with_retry_info_is_retried(api: Api, stub: StubServer) -> None:
    quota = status(grpc.StatusCode.RESOURCE_EXHAUSTED, "slow down", _retry_info(0.05))
    stub.script(GET_MODEL, quota, quota, MODEL)
    assert await api(lambda c: c.models.get("x")) == MODEL
    assert len(stub.calls(GET_MODEL)) == 3


async def test_resource_exhausted_retries_are_bounded(api: Api, stub: StubServer) -> None:
    quota = status(grpc.StatusCode.RESOURCE_EXHAUSTED, "slow down", _retry_info(0.01))
    stub.script(GET_MODEL, quota)
    with pytest.raises(errors.ResourceExhausted):
        await api(lambda c: c.with_options(max_retries=1).models.get("x"))
    assert len(stub.calls(GET_MODEL)) == 2


async def test_resource_exhausted_without_retry_info_fails_at_once(
    api: Api, stub: StubServer
) -> None:
    stub.script(GET_MODEL, status(grpc.StatusCode.RESOURCE_EXHAUSTED, "too big"), MODEL)
    with pytest.raises(errors.ResourceExhausted):
        await api(lambda c: c.models.get("x"))
    assert len(stub.calls(GET_MODEL)) == 1


async def test_retry_delay_longer_than_the_deadline_is_not_waited(
    api: Api, stub: StubServer
) -> None:
    stub.script(GET_MODEL, status(grpc.StatusCode.RESOURCE_EXHAUSTED, "q", _retry_info(60)), MODEL)
    with pytest.raises(errors.ResourceExhausted) as caught:
        await api(lambda c: c.with_options(timeout=2).models.get("x"))
    assert caught.value.retry_delay == 60
    assert len(stub.calls(GET_MODEL)) == 1


async def test_one_deadline_covers_every_attempt(api: Api, stub: StubServer) -> None:
    quota = status(grpc.StatusCode.RESOURCE_EXHAUSTED, "q", _retry_info(0.15))

    def slow(request: Any, context: Any) -> Any:
        time.sleep(0.15)
        context.abort_with_status(rpc_status.to_status(quota))

    stub.script(GET_MODEL, slow)
    with pytest.raises((errors.DeadlineExceeded, errors.ResourceExhausted)):
        await api(lambda c: c.with_options(timeout=0.5, max_retries=50).models.get("x"))
    # Each attempt takes >= 0.3 s with its pause; far fewer than 51 fit in 0.5 s.
    assert 1 <= len(stub.calls(GET_MODEL)) <= 3


async def test_server_delay_past_the_deadline(api: Api, stub: StubServer) -> None:
    def slow(request: Any, context: Any) -> Any:
        time.sleep(1.0)
        return MODEL

    stub.script(GET_MODEL, slow)
    with pytest.raises(errors.DeadlineExceeded):
        await api(lambda c: c.with_options(timeout=0.2).models.get("x"))


def test_service_config_gives_grpc_the_idempotent_streams_only() -> None:
    config = json.loads(_transport.service_config(RetryPolicy(), _calls.grpc_retried_methods()))
    (entry,) = config["methodConfig"]
    names = {(n["service"], n["method"]) for n in entry["name"]}
    assert ("textgen.v1.ModelService", "StreamGenerateContent") in names
    assert ("textgen.v1.ModelService", "GenerateContent") not in names  # the loop's
    assert ("google.longrunning.Operations", "GetOperation") not in names
    assert entry["retryPolicy"] == {
        "maxAttempts": 3,
        "initialBackoff": "0.1s",
        "maxBackoff": "5s",
        "backoffMultiplier": 2.0,
        "retryableStatusCodes": ["UNAVAILABLE"],
    }
    none = RetryPolicy(max_retries=0)
    assert json.loads(_transport.service_config(none, _calls.grpc_retried_methods())) == {
        "methodConfig": []
    }
    many = RetryPolicy(max_retries=10).grpc_retry_policy()
    assert many is not None and many["maxAttempts"] == GRPC_MAX_ATTEMPTS


def test_backoff_follows_the_policy() -> None:
    policy = RetryPolicy(initial_backoff=0.5, max_backoff=3, backoff_multiplier=2)
    caps = [0.5, 1, 2, 3, 3]
    for retry, cap in enumerate(caps, start=1):
        assert all(0 <= policy.backoff(retry) <= cap for _ in range(50))
    unavailable = grpc.StatusCode.UNAVAILABLE
    exhausted = grpc.StatusCode.RESOURCE_EXHAUSTED
    assert policy.delay(grpc.StatusCode.NOT_FOUND, None, 1) is None
    assert policy.delay(exhausted, None, 1) is None  # without RetryInfo
    assert 2 <= (policy.delay(exhausted, 2, 1) or 0) <= 2.4  # the server's delay, plus jitter
    assert 0 <= (policy.delay(unavailable, None, 1) or 0) <= 0.5


@pytest.mark.parametrize(
    "bad",
    [
        {"max_retries": -1},
        {"initial_backoff": 0},
        {"initial_backoff": 2, "max_backoff": 1},
        {"backoff_multiplier": 0.5},
        {"retryable_codes": (grpc.StatusCode.OK,)},
    ],
)
def test_bad_policies_are_rejected(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**bad)


def test_max_retries_is_shorthand_for_the_policy(stub: StubServer) -> None:
    slow = RetryPolicy(initial_backoff=0.5, max_backoff=1)
    with textgen.Client(stub.target) as client:
        assert client.retry == RetryPolicy() and client.max_retries == 2
    with textgen.Client(stub.target, retry=slow, max_retries=5) as client:
        assert client.retry == replace(slow, max_retries=5)
        assert client.with_options(max_retries=0).retry == replace(slow, max_retries=0)
        assert client.with_options(retry=FAST).retry == FAST
        assert client.with_options(retry=FAST, max_retries=1).max_retries == 1
        assert client.with_options(timeout=1).retry is client.retry
    assert textgen.RetryPolicy is RetryPolicy


def test_declared_methods_match_the_contract() -> None:
    pool = model_pb2.DESCRIPTOR.pool  # the default pool, which every textgen.v1 file is in
    for declared in _calls._REGISTRY.values():
        service = pool.FindServiceByName(declared.service)
        rpc = service.FindMethodByName(declared.name)
        assert rpc.input_type.full_name == declared.request_type.DESCRIPTOR.full_name
        assert rpc.output_type.full_name == declared.response_type.DESCRIPTOR.full_name
        assert rpc.server_streaming == declared.streaming


def test_grpc_backoff_has_a_floor() -> None:
    """grpcio 1.85 can lose a retried stream with a 1 ms backoff; gRPC never gets one below
    GRPC_MIN_BACKOFF (the client's own loop keeps the policy's values)."""
    policy = RetryPolicy(initial_backoff=0.001, max_backoff=0.005).grpc_retry_policy()
    assert policy is not None
    assert (policy["initialBackoff"], policy["maxBackoff"]) == ("0.01s", "0.01s")
