"""`RetryPolicy`: the one retry budget of a client, and the only place its knobs are defined.

A call is resent for one of two reasons: its status is in `retryable_codes` (UNAVAILABLE by
default), or the server answered RESOURCE_EXHAUSTED with a google.rpc.RetryInfo naming a
delay. gRPC's own retries, declared as the `retryPolicy` of the channel's service config, can
handle the first reason but not the second, because they cannot read a delay out of the
status details. The client's loop (`textgen._calls.retrying`) can handle both.

The two layers cannot draw on one shared count. gRPC retries below the application and does
not report how many attempts it made: the `grpc-previous-rpc-attempts` header goes to the
server only, and a failed call's trailers do not carry it. When both layers retried the same
call, each of the loop's attempts could hide up to `maxAttempts` of gRPC's, so
`max_retries=2` sent up to 3 x 3 = 9 requests (11 x 5 = 55 with `max_retries=10`). Hence the
rule here: every method is retried by exactly one layer, and that layer counts each request
it sends against `max_attempts`.

* Unary methods (everything a `Call` runs) belong to the loop, for both reasons. They get no
  `retryPolicy` in the service config, so gRPC sends each of the loop's attempts once.
* Idempotent server streams belong to gRPC, through the `retryPolicy` that `service_config`
  renders from this object; the loop never runs streams. gRPC lowers maxAttempts above 5 to
  5, so a stream is sent at most min(max_attempts, 5) times, and it is never retried for
  RESOURCE_EXHAUSTED.

Both layers wait with the same backoff: retry n waits a random time between 0 and
min(initial_backoff * backoff_multiplier ** (n - 1), max_backoff), the formula gRPC's retry
design (A6) gives for the service config. A RetryInfo delay replaces the backoff, plus up to
RETRY_INFO_JITTER of itself. gRPC's transparent retries stay on; they only resend requests
that no server application received, so they do not count against the budget.

Methods declared non-idempotent (updates, deletes, uploads) are never retried by either
layer. Creates are idempotent: each carries a `request_id` (a UUID4 made per call, see
textgen.resources._request_ids) and the server answers a repeat of it with the first
result (AIP-155), so the loop resends them like any idempotent call. To resend creates after
DEADLINE_EXCEEDED too, list it in `retryable_codes`; within one call an attempt that ran out
of time leaves none for another, so an application that saw DEADLINE_EXCEEDED repeats the
create itself, passing the same `request_id=`. The upstream flavours have no request_id, so
there the client leaves it out and sends a create once (textgen._routes.Routing.resendable).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import grpc

__all__ = ["GRPC_MAX_ATTEMPTS", "RETRY_INFO_JITTER", "RetryPolicy"]

GRPC_MAX_ATTEMPTS = 5  # gRPC silently lowers a larger maxAttempts to this
# The smallest backoff handed to gRPC's own retries. grpcio 1.85 sometimes loses a retried
# server stream whose backoff is 1 ms: the call then waits out its whole deadline (9 to 11 of
# 20 calls here; none at 2 ms or more, none on grpcio 1.66). A stream retries after at least
# this long, whatever smaller backoff the policy asks for.
GRPC_MIN_BACKOFF = 0.01
RETRY_INFO_JITTER = 0.2  # a RetryInfo wait is stretched by a random 0-20%


def _duration(seconds: float) -> str:
    """Seconds as a service-config duration string, e.g. 0.1 -> "0.1s" (never "0s")."""
    return f"{max(seconds, 1e-9):.9f}".rstrip("0").rstrip(".") + "s"


@dataclass(frozen=True)
class RetryPolicy:
    """How an idempotent call is retried; one budget whichever layer does the retrying.

    max_retries: resends after the first request, so a call sends at most max_retries + 1
      requests (`max_attempts`). 0 turns retries off.
    initial_backoff, max_backoff, backoff_multiplier: the exponential backoff, in seconds; the
      wait before retry n is random between 0 and the capped value for n.
    retryable_codes: statuses resent after the backoff (after the server's delay instead
      when it sends a RetryInfo). RESOURCE_EXHAUSTED with a RetryInfo is resent after that
      delay whether it is listed or not; without one it is not resent unless listed.
    """

    max_retries: int = 2
    initial_backoff: float = 0.1
    max_backoff: float = 5.0
    backoff_multiplier: float = 2.0
    retryable_codes: tuple[grpc.StatusCode, ...] = (grpc.StatusCode.UNAVAILABLE,)

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be 0 or more, not {self.max_retries}")
        if self.initial_backoff <= 0:
            raise ValueError(f"initial_backoff must be positive, not {self.initial_backoff}")
        if self.max_backoff < self.initial_backoff:
            raise ValueError(
                f"max_backoff ({self.max_backoff}) must be at least initial_backoff "
                f"({self.initial_backoff})"
            )
        if self.backoff_multiplier < 1:
            raise ValueError(f"backoff_multiplier must be 1 or more, not {self.backoff_multiplier}")
        codes = tuple(self.retryable_codes)
        if not all(isinstance(code, grpc.StatusCode) for code in codes):
            raise TypeError(f"retryable_codes must be grpc.StatusCode values, not {codes!r}")
        if grpc.StatusCode.OK in codes:
            raise ValueError("retryable_codes cannot contain OK")
        object.__setattr__(self, "retryable_codes", codes)  # a list given becomes a tuple

    @property
    def max_attempts(self) -> int:
        """The most requests one call may send, the first included."""
        return self.max_retries + 1

    def with_max_retries(self, max_retries: int | None) -> RetryPolicy:
        """This policy with another budget (the `max_retries=` shorthand); None keeps it."""
        if max_retries is None or max_retries == self.max_retries:
            return self
        return replace(self, max_retries=max_retries)

    def backoff(self, retry: int) -> float:
        """A random wait before retry number `retry` (1 for the first resend)."""
        cap = self.initial_backoff
        for _ in range(retry - 1):
            if cap >= self.max_backoff:
                break
            cap *= self.backoff_multiplier
        return random.uniform(0, min(cap, self.max_backoff))

    def delay(self, code: grpc.StatusCode, retry_delay: float | None, retry: int) -> float | None:
        """Seconds to wait before resending after a failure, or None if it is not retried.

        code: the failure's status; retry_delay: the RetryInfo delay it carried, if any;
        retry: which resend this would be (1 for the first). The budget is not checked here.
        """
        if retry_delay is not None and (
            code == grpc.StatusCode.RESOURCE_EXHAUSTED or code in self.retryable_codes
        ):
            return retry_delay * (1 + random.uniform(0, RETRY_INFO_JITTER))
        if code in self.retryable_codes:
            return self.backoff(retry)
        return None

    def grpc_retry_policy(self) -> dict[str, Any] | None:
        """The service config's `retryPolicy` object, or None when gRPC should not retry."""
        if self.max_retries == 0 or not self.retryable_codes:
            return None
        return {
            "maxAttempts": min(self.max_attempts, GRPC_MAX_ATTEMPTS),
            "initialBackoff": _duration(max(self.initial_backoff, GRPC_MIN_BACKOFF)),
            "maxBackoff": _duration(max(self.max_backoff, GRPC_MIN_BACKOFF)),
            "backoffMultiplier": self.backoff_multiplier,
            "retryableStatusCodes": [code.name for code in self.retryable_codes],
        }

    def service_config(self, methods: Sequence[tuple[str, str]]) -> dict[str, Any]:
        """The `grpc.service_config` object giving gRPC this policy for `methods`.

        methods: (service, method) pairs, the ones gRPC retries (idempotent server streams).
        """
        policy = self.grpc_retry_policy()
        if policy is None or not methods:
            return {"methodConfig": []}
        names = [{"service": service, "method": name} for service, name in methods]
        return {"methodConfig": [{"name": names, "retryPolicy": policy}]}
