"""API key -> principal, the authentication policy, and lookups that hide other principals'
resources.

The key travels in call metadata in any of the forms callers send: `x-api-key: <key>` (our
client), `x-goog-api-key: <key>` (Google's clients), `authorization: Api-Key <key>` (Yandex's)
or `authorization: Bearer <key>`. When a call carries more than one, the first form of that
list wins, and the first value of a repeated header. With no keys configured
(`state.api_keys` empty) every caller is DEFAULT_PRINCIPAL and keys are ignored. With keys
configured, a missing or unknown key is UNAUTHENTICATED.

`Authentication` runs before anything else looks at a call (validation included, and the
checks for undecodable bytes and unknown fields), and leaves the caller's principal in a
context variable that servicers read with `current_principal()`.

Resources (tuned models, datasets, operations) record their owner's principal. The ids a
caller chooses (a tuned model's or a dataset's) name resources in that caller's own
namespace: the stores keep them by (owner, name), so Alice's `tunedModels/foo` and Bob's are
two resources, and each create, lookup, change and delete looks only among the caller's own.
A create answers ALREADY_EXISTS only for an id the caller itself holds; another principal's
ids neither block it nor show through it. `find_owned` looks a caller's resource up and
answers NOT_FOUND when the caller has none of that name, whoever else may. Operations are
named by the server with random ids, so they share one namespace; they are looked up by name
and another principal's answers NOT_FOUND exactly as a missing one does. So no call tells a
caller anything about a resource it does not own, not even that its name is in use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from typing import Any, TypeVar

from textgen.server.rpc.aio_types import Context, Handler
from textgen.server.rpc.errors import not_found, unauthenticated
from textgen.server.rpc.guard import with_guard
from textgen.server.state import DEFAULT_PRINCIPAL
from textgen.server.storage.table import Record, Table, Versioned

API_KEY_HEADER = "x-api-key"
GOOGLE_API_KEY_HEADER = "x-goog-api-key"
AUTHORIZATION_HEADER = "authorization"
# The `authorization` schemes that carry a key, compared in lower case.
_SCHEMES = ("api-key", "bearer")
# Every form, in order of precedence: a header name, or `authorization` with a scheme.
_FORMS = (API_KEY_HEADER, GOOGLE_API_KEY_HEADER, *_SCHEMES)


R = TypeVar("R", bound=Record)


def api_key(metadata: Iterable[Any] | None) -> str | None:
    """The API key in call metadata (pairs or grpc metadatum objects), or None."""
    found: dict[str, str] = {}  # form -> its first key
    for item in metadata or ():
        key, value = item[0], item[1]
        if isinstance(value, bytes) or not value:
            continue
        name = str(key).lower()
        if name in (API_KEY_HEADER, GOOGLE_API_KEY_HEADER):
            found.setdefault(name, str(value))
        elif name == AUTHORIZATION_HEADER:
            scheme, _, credential = str(value).strip().partition(" ")
            credential = credential.strip()
            if scheme.lower() in _SCHEMES and credential:
                found.setdefault(scheme.lower(), credential)
    return next((found[form] for form in _FORMS if form in found), None)


def principal_for_key(api_keys: Mapping[str, str], key: str | None) -> str:
    """The principal a key maps to; raises UNAUTHENTICATED when keys are configured and
    the key is missing or unknown."""
    if not api_keys:
        return DEFAULT_PRINCIPAL
    if key is None:
        raise unauthenticated(
            f"Missing API key: send it as `{API_KEY_HEADER}`, `{GOOGLE_API_KEY_HEADER}`, "
            "`authorization: Api-Key <key>` or `authorization: Bearer <key>` metadata"
        )
    principal = api_keys.get(key)
    if principal is None:
        raise unauthenticated("API key not valid")
    return principal


# Each call runs in its own task, so the value set for one call is not seen by another.
_PRINCIPAL: ContextVar[str] = ContextVar("textgen_principal")


def current_principal() -> str:
    """The principal of the call being served (set by the Authentication policy)."""
    try:
        return _PRINCIPAL.get()
    except LookupError:
        raise RuntimeError("no call is being served: the Authentication policy sets this") from None


# Methods anyone may call: probes and tooling do not carry API keys.
PUBLIC_METHOD_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")


class Authentication:
    """The policy: authenticate each call first, and record its principal for the servicers."""

    def __init__(self, api_keys: Mapping[str, str]) -> None:
        # Read at each call, so keys changed on a running server apply at once.
        self._api_keys = api_keys

    def wrap(self, method: str, handler: Handler) -> Handler:
        """`handler` behind the key check (health and reflection stay public)."""
        if method.startswith(PUBLIC_METHOD_PREFIXES):
            return handler
        api_keys = self._api_keys

        def enter(context: Context) -> None:
            _PRINCIPAL.set(_caller(api_keys, context))

        return with_guard(handler, enter=enter)


def _caller(api_keys: Mapping[str, str], context: Context) -> str:
    # Without keys every caller is DEFAULT_PRINCIPAL, so the metadata is not even read.
    if not api_keys:
        return DEFAULT_PRINCIPAL
    return principal_for_key(api_keys, api_key(context.invocation_metadata()))


async def find_owned(
    table: Table[R], name: str, principal: str, resource_type: str
) -> Versioned[R]:
    """`principal`'s resource `name` (and its version) from its store; NOT_FOUND (with
    ResourceInfo) when `principal` has none of that name."""
    found = await table.get(principal, name)
    if found is None:
        raise not_found(resource_type, name)
    return found
