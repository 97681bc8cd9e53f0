"""Page sizes and opaque, tamper-proof page tokens bound to the request's other fields.

A token carries the offset of the next item plus a digest of the request fields it was
issued for (the "binding": method, filter, parent, caller...), signed with HMAC-SHA256 under
a per-server secret (`ServerState.page_secret`). A token that was edited, or that is sent
with different bindings, is INVALID_ARGUMENT on `page_token`.

    page = paginate(items, page_size=request.page_size, page_token=request.page_token,
                    default_size=DEFAULT_TUNED_MODELS, secret=state.page_secret,
                    binding={"method": "ListTunedModels", "filter": request.filter})
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from textgen.server.rpc.errors import FieldViolation, invalid_argument

DEFAULT_MODELS = 50
DEFAULT_TUNED_MODELS = 10
DEFAULT_DATASETS = 50
DEFAULT_DATASET_ROWS = 100
DEFAULT_OPERATIONS = 50
MAX_PAGE_SIZE = 1000

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of items and the token for the next page ("" on the last page)."""

    items: list[T]
    next_page_token: str


def effective_page_size(requested: int, default: int, *, field: str = "page_size") -> int:
    """The effective page size: 0 means `default`, above MAX_PAGE_SIZE is clamped,
    negative is INVALID_ARGUMENT on `field`."""
    if requested < 0:
        raise invalid_argument([FieldViolation(field, "must not be negative")])
    if requested == 0:
        return default
    return min(requested, MAX_PAGE_SIZE)


def _digest(binding: Mapping[str, object]) -> str:
    canonical = json.dumps({k: str(v) for k, v in binding.items()}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _sign(secret: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, payload, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_token(offset: int, *, secret: bytes, binding: Mapping[str, object]) -> str:
    """A signed token meaning "continue at `offset` for a request with these bindings"."""
    payload = json.dumps({"o": offset, "b": _digest(binding)}, separators=(",", ":")).encode()
    return f"{_b64(payload)}.{_b64(_sign(secret, payload))}"


def decode_token(
    token: str, *, secret: bytes, binding: Mapping[str, object], field: str = "page_token"
) -> int:
    """The offset in a token from encode_token; INVALID_ARGUMENT on `field` when it was
    tampered with or issued for a request with different bindings. "" means offset 0."""
    if not token:
        return 0
    try:
        payload_text, signature_text = token.split(".", 1)
        payload, signature = _unb64(payload_text), _unb64(signature_text)
    except (ValueError, binascii.Error):
        raise invalid_argument([FieldViolation(field, "is not a valid page token")]) from None
    if not hmac.compare_digest(signature, _sign(secret, payload)):
        raise invalid_argument([FieldViolation(field, "is not a valid page token")])
    data = json.loads(payload)
    if data.get("b") != _digest(binding):
        raise invalid_argument(
            [FieldViolation(field, "was issued for a request with different parameters")]
        )
    offset = data.get("o")
    if not isinstance(offset, int) or offset < 0:
        raise invalid_argument([FieldViolation(field, "is not a valid page token")])
    return offset


def paginate(
    items: Sequence[T],
    *,
    page_size: int,
    page_token: str,
    default_size: int,
    secret: bytes,
    binding: Mapping[str, object],
) -> Page[T]:
    """The page of `items` that a List request with this page_size and page_token asks for.

    `page_size` is the request's raw value (checked and defaulted here). The items must be
    in a stable order across calls.
    """
    size = effective_page_size(page_size, default_size)
    start = decode_token(page_token, secret=secret, binding=binding)
    end = start + size
    next_token = encode_token(end, secret=secret, binding=binding) if end < len(items) else ""
    return Page(list(items[start:end]), next_token)


async def fetch_page(
    fetch: Callable[[int, int], Awaitable[Sequence[T]]],
    *,
    page_size: int,
    page_token: str,
    default_size: int,
    secret: bytes,
    binding: Mapping[str, object],
) -> Page[T]:
    """paginate() for items that a store lists a window at a time.

    `fetch(start, limit)` returns at most `limit` items from position `start` of a stable
    order (fewer at the end). One more item than the page holds is asked for, to learn
    whether a next page exists.
    """
    size = effective_page_size(page_size, default_size)
    start = decode_token(page_token, secret=secret, binding=binding)
    items = list(await fetch(start, size + 1))
    end = start + size
    next_token = encode_token(end, secret=secret, binding=binding) if len(items) > size else ""
    return Page(items[:size], next_token)
