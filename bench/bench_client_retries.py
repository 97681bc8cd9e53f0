"""Requests a server sees for one failing call, against the client's budget of max_retries + 1.

For max_retries in (0, 2, 10), one call fails on a FakeServer, whose journal counts every
request that reached it, gRPC's own resends included. Three failures are played: a unary
GetModel answered UNAVAILABLE every time; the same call answered with a repeating mix of
UNAVAILABLE then one RESOURCE_EXHAUSTED with a RetryInfo, as many UNAVAILABLE as gRPC's own
retries could absorb (the mix that multiplied the two retry layers before they shared one
budget: 9 requests for max_retries=2, 55 for 10); and a StreamGenerateText stream answered
UNAVAILABLE, which gRPC retries and lowers to at most 5 attempts. Each runs on Client and
AsyncClient. The waits are shortened (1-5 ms of backoff, 10 ms RetryInfo) because only the
count is measured. Target: requests / budget at most 1.00x on every row.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import grpc
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2

import textgen
from textgen import errors
from textgen.retry import GRPC_MAX_ATTEMPTS
from textgen.testing import FakeServer

BUDGETS = (0, 2, 10)
FAST = textgen.RetryPolicy(initial_backoff=0.001, max_backoff=0.005)
MODEL = "models/text-bison-001"
SCRIPTED = 80  # more failures queued than any client could send for one call
RETRY_INFO = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(nanos=10_000_000))


def _unavailable(fake: FakeServer, method: str, max_retries: int) -> None:
    fake.script(method).fail(grpc.StatusCode.UNAVAILABLE, "down", times=SCRIPTED)


def _mixed(fake: FakeServer, method: str, max_retries: int) -> None:
    # UNAVAILABLE as often as one gRPC-retried attempt would resend it, then a RetryInfo.
    unavailable = min(max_retries + 1, GRPC_MAX_ATTEMPTS) - 1
    script = fake.script(method)
    for _ in range(SCRIPTED // (unavailable + 1)):
        if unavailable:
            script.fail(grpc.StatusCode.UNAVAILABLE, "down", times=unavailable)
        script.fail(grpc.StatusCode.RESOURCE_EXHAUSTED, "quota", details=[RETRY_INFO])


# (label, method the journal counts, how the server fails, the call, as in client.<call>)
Scenario = tuple[str, str, Callable[[FakeServer, str, int], None], Callable[[Any], Any]]
SCENARIOS: list[Scenario] = [
    ("GetModel, UNAVAILABLE", "GetModel", _unavailable, lambda c: c.models.get(MODEL)),
    ("GetModel, UNAVAILABLE + RetryInfo mix", "GetModel", _mixed, lambda c: c.models.get(MODEL)),
    (
        "StreamGenerateText, UNAVAILABLE",
        "StreamGenerateText",
        _unavailable,
        lambda c: c.models.stream_generate_text(MODEL, "hi"),
    ),
]


def _sync_requests(scenario: Scenario, max_retries: int) -> int:
    _, method, fail, call = scenario
    with FakeServer() as fake:
        fail(fake, method, max_retries)
        with textgen.Client(fake.target, retry=replace(FAST, max_retries=max_retries)) as client:
            try:
                result = call(client)
                if method.startswith("Stream"):
                    list(result)
            except errors.APIError:
                pass
        return len(fake.journal.calls(method))


async def _async_requests(scenario: Scenario, max_retries: int) -> int:
    _, method, fail, call = scenario
    async with FakeServer() as fake:
        fail(fake, method, max_retries)
        policy = replace(FAST, max_retries=max_retries)
        async with textgen.AsyncClient(fake.target, retry=policy) as client:
            try:
                result = call(client)
                if method.startswith("Stream"):
                    _ = [item async for item in result]
                else:
                    await result
            except errors.APIError:
                pass
        return len(fake.journal.calls(method))


def main() -> None:
    """Print each scenario's request counts against the budget, and whether any exceeds it."""
    worst = 0.0
    print(f"{'failure':<38} {'client':<6} {'max_retries':>11} {'requests':>8} {'budget':>6}")
    for scenario in SCENARIOS:
        for kind in ("sync", "async"):
            for max_retries in BUDGETS:
                if kind == "sync":
                    seen = _sync_requests(scenario, max_retries)
                else:
                    seen = asyncio.run(_async_requests(scenario, max_retries))
                budget = max_retries + 1
                worst = max(worst, seen / budget)
                print(f"{scenario[0]:<38} {kind:<6} {max_retries:>11} {seen:>8} {budget:>6}")
    verdict = "within" if worst <= 1.0 else "OVER"
    print(f"worst requests / budget: {worst:.2f}x ({verdict} the budget; target 1.00x)")
