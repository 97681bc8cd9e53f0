"""API key -> principal, and lookups that hide other principals' resources.

The key travels in call metadata as `x-api-key: <key>` or `authorization: Bearer <key>`.
With no keys configured (`state.api_keys` empty) every caller is DEFAULT_PRINCIPAL and
keys are ignored. With keys configured, a missing or unknown key is UNAUTHENTICATED.

Resources (tuned models, datasets, operations) record their owner's principal; `find_owned`
answers NOT_FOUND for another principal's resource, exactly as for a missing one, so
callers cannot probe for names they do not own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol, TypeVar

from textgen.server.rpc.aio_types import Context
from textgen.server.rpc.errors import not_found, unauthenticated
from textgen.server.state import DEFAULT_PRINCIPAL

API_KEY_HEADER = "x-api-key"
AUTHORIZATION_HEADER = "authorization"
_BEARER = "bearer "


class Owned(Protocol):
    """Anything stored with its owner's principal."""

    @property
    def owner(self) -> str: ...


R = TypeVar("R", bound=Owned)


def api_key(metadata: Iterable[Any] | None) -> str | None:
    """The API key in call metadata (pairs or grpc metadatum objects), or None."""
    bearer = None
    for item in metadata or ():
        key, value = item[0], item[1]
        if isinstance(value, bytes):
            continue
        name = str(key).lower()
        if name == API_KEY_HEADER and value:
            return str(value)
        if name == AUTHORIZATION_HEADER and str(value).lower().startswith(_BEARER):
            bearer = str(value)[len(_BEARER) :].strip() or None
    return bearer


def principal_for_key(api_keys: Mapping[str, str], key: str | None) -> str:
    """The principal a key maps to; raises UNAUTHENTICATED when keys are configured and
    the key is missing or unknown."""
    if not api_keys:
        return DEFAULT_PRINCIPAL
    if key is None:
        raise unauthenticated(
            f"Missing API key: send it as `{API_KEY_HEADER}` or `authorization: Bearer` metadata"
        )
    principal = api_keys.get(key)
    if principal is None:
        raise unauthenticated("API key not valid")
    return principal


def caller(context: Context, api_keys: Mapping[str, str]) -> str:
    """The principal making this call (see principal_for_key)."""
    return principal_for_key(api_keys, api_key(context.invocation_metadata()))


def find_owned(store: Mapping[str, R], name: str, principal: str, resource_type: str) -> R:
    """The named resource if `principal` owns it; NOT_FOUND (with ResourceInfo) otherwise."""
    record = store.get(name)
    if record is None or record.owner != principal:
        raise not_found(resource_type, name)
    return record
