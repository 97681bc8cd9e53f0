"""The unknown-field policy: a request carrying a field this server does not model is refused.

Protobuf keeps a field it has no descriptor for as an unknown field and otherwise ignores it,
so a request written against a newer or an upstream contract (a hosted search tool, a speech
setting) would be served as if that field were absent. This policy answers such a request
with INVALID_ARGUMENT instead: a BadRequest violation (reason UNSUPPORTED_FIELD) per unknown
field, at its path in the request. The leaf is the field's upstream name where we know it
(`tools[0].google_search`, from rpc/upstream_names.py) and its number otherwise
(`contents[0].parts[1].#99`). Each message of a client stream is checked on its own.

The check sits in the request deserializer, where each request's bytes are at hand, and stays
cheap for the requests it lets through (textgen._protobuf's decoded_with_unknown_fields): the
bytes are decoded a second time, as the request type's merged shadow, in which all the
elements of a repeated field merge into one message, so the unknown fields of the whole
request gather in a tree with one message per field path; comparing that small tree's size
before and after discarding its unknown fields answers, in C. (For a small request it costs
less to discard the decoded request's unknown fields and encode it again: getting the
received bytes back proves it had none.) The request goes on as it was decoded. The
shadow may suspect an encoding that holds no unknown fields (a oneof member or a map key sent
twice, very deep nesting); those, and requests that do hold some, are settled by walking the
decoded request in Python. Only a request that will be refused is decoded once more and
walked again to name its fields, and only after the caller is authenticated: the
deserializer hands on a marker, which the behaviour turns into the error.

The message of a client stream last let through is also remembered with its bytes, until
the next one is read: `received_encoding` gives them to a servicer that would otherwise
encode the message again to store it (UploadDataset keeps each chunk as the bytes it came
in).

Out of reach of this check: an undefined value of an open enum (protobuf keeps it as the
field's value, not as an unknown field), and anything packed inside an `Any`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextvars import ContextVar

from google.protobuf.message import Message

from textgen._protobuf import decoded_with_unknown_fields, message_tree, unknown_field_numbers
from textgen.server.rpc.aio_types import Handler
from textgen.server.rpc.errors import FieldViolation, ServiceError, invalid_argument
from textgen.server.rpc.guard import with_guard
from textgen.server.rpc.policy import Deserializer
from textgen.server.rpc.upstream_names import UPSTREAM_NAMES

REASON = "UNSUPPORTED_FIELD"
# At most this many fields are named in one refusal: the details travel in trailing metadata,
# whose size is limited, and a long conversation can repeat the same field in every turn.
LISTED = 10
# The message of a client stream this policy last let through in the current task (the
# call's), with the bytes it was decoded from.
_received: ContextVar[tuple[Message, bytes] | None] = ContextVar("received", default=None)


class _Unsupported:
    """Stands in for a request that carried unknown fields: its bytes, to be named later."""

    __slots__ = ("data", "decode")

    def __init__(self, data: bytes, decode: Deserializer) -> None:
        self.data = data
        self.decode = decode


class UnknownFields:
    """The policy."""

    def wrap(self, method: str, handler: Handler) -> Handler:
        """`handler` with a deserializer that spots unknown fields and a behaviour that
        refuses the requests it marked."""
        decode = handler.request_deserializer
        if decode is None:
            return handler
        spotting = _spotting(decode, remember=handler.request_streaming)
        return with_guard(handler, request_deserializer=spotting, check=_check)


def _spotting(decode: Deserializer, *, remember: bool) -> Deserializer:
    def decode_and_look(data: bytes) -> object:
        request = decode(data)
        if isinstance(request, Message):
            if decoded_with_unknown_fields(request, data):
                return _Unsupported(data, decode)
            if remember:
                _received.set((request, data))
        return request

    return decode_and_look


def received_encoding(request: Message) -> bytes | None:
    """The bytes `request` was decoded from, if it is the message of a client stream this
    policy last let through in the current call; None otherwise (a request not streamed, or
    one that came another way). Such bytes decode to `request` and hold no unknown fields,
    though they need not be what protobuf would encode."""
    last = _received.get()
    if last is not None and last[0] is request:
        return last[1]
    return None


def _check(request: object, position: int | None) -> None:
    if isinstance(request, _Unsupported):
        raise unsupported_fields(request.decode(request.data), position)


def unsupported_fields(request: Message, position: int | None = None) -> ServiceError:
    """INVALID_ARGUMENT naming the unknown fields of `request` (the first LISTED of them);
    `position` is the request's place in a client stream, counted from 0."""
    found = list(itertools.islice(_unknown(request), LISTED + 1))
    where = "" if position is None else f" (in request {position + 1} of the stream)"
    violations = [FieldViolation(path, what + where, REASON) for path, what in found[:LISTED]]
    if len(found) > LISTED:
        last = violations[-1]
        more = f"{last.description}; more unknown fields follow, only {LISTED} are listed"
        violations[-1] = FieldViolation(last.field, more, REASON)
    return invalid_argument(violations)


def _unknown(request: Message) -> Iterator[tuple[str, str]]:
    """(path, description) of each unknown field in `request`, depth first, each field of a
    message once however often it was sent."""
    for path, message in message_tree(request):
        kind = message.DESCRIPTOR.full_name
        names = UPSTREAM_NAMES.get(kind, {})
        for number in dict.fromkeys(unknown_field_numbers(message)):
            name = names.get(number)
            if name is None:
                what = f"field {number} of {kind} is not known to this server"
            else:
                what = f"`{name}` (field {number} of {kind}) is not supported by this server"
            yield _join(path, name or f"#{number}"), what


def _join(path: str, leaf: str) -> str:
    return f"{path}.{leaf}" if path else leaf
