"""The proto3 JSON mapping for HTTP calls: a request from its path, query and body, and a
message as JSON.

Requests are read strictly. Each JSON member and query parameter must name a field of the
message it sits in, by its JSON name (`generationConfig`) or its proto name
(`generation_config`); anything else is refused with INVALID_ARGUMENT naming it at its path,
as the gRPC server refuses unknown fields. Values are then read by protobuf's json_format,
which refuses a wrong type or an unknown enum name.

Where the request comes from follows the method's http rule: fields bound by the path
template; the body (`body: "*"` is the whole request, `body: "field"` that one field); and,
unless the body is the whole request, query parameters for the rest (`?pageSize=10`, dotted
for nested fields, repeated for repeated fields). The parameters `key`, `alt`, `$alt` and
`prettyPrint` belong to the transport and are not fields.

Messages are written with camelCase names and enums as names. An `Any` whose type an
upstream flavour names in its own package (`google.ai.generativelanguage.v1beta.TunedModel`)
is read and written as our message of that name (textgen.apis.canonical_type_name), and keeps
its type URL.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, cast

from google.protobuf import descriptor_pool, json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from textgen._protobuf import is_repeated
from textgen.apis import canonical_type_name
from textgen.server.http.routes import Route
from textgen.server.rpc.errors import FieldViolation, ServiceError, invalid_argument

# Query parameters that belong to the transport, not to the request.
RESERVED_PARAMETERS = frozenset({"key", "alt", "$alt", "prettyPrint"})
UNKNOWN = "UNSUPPORTED_FIELD"
BAD_JSON = "INVALID_JSON"

# Messages whose JSON form is not an object of their fields: json_format checks them itself.
_SPECIAL = frozenset(
    f"google.protobuf.{name}"
    for name in (
        "Any",
        "Struct",
        "Value",
        "ListValue",
        "Timestamp",
        "Duration",
        "FieldMask",
        "DoubleValue",
        "FloatValue",
        "Int64Value",
        "UInt64Value",
        "Int32Value",
        "UInt32Value",
        "BoolValue",
        "StringValue",
        "BytesValue",
    )
)


class _Types:
    """The message types json_format may meet in an `Any`: the default pool's, and our
    messages under the names upstream flavours give them."""

    def __init__(self) -> None:
        self._pool: Any = cast("Any", descriptor_pool).Default()

    def FindMessageTypeByName(self, name: str) -> Descriptor:
        """The descriptor of message type `name`."""
        canonical = canonical_type_name(name)
        found: Descriptor = self._pool.FindMessageTypeByName(canonical or name)
        return found


_TYPES: Any = _Types()


def to_json(message: Message) -> dict[str, Any]:
    """`message` in the proto3 JSON mapping (camelCase, enums as names)."""
    found: dict[str, Any] = json_format.MessageToDict(message, descriptor_pool=_TYPES)
    return found


def dumps(value: object) -> bytes:
    """Compact JSON bytes of a JSON value."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def read_request(
    route: Route,
    bound: Mapping[str, str],
    query: Iterable[tuple[str, str]],
    body: bytes,
) -> Message:
    """The request for a call of `route`: `bound` from the path template, `query` the query
    parameters, `body` the raw body. Raises ServiceError (INVALID_ARGUMENT) when it is not a
    valid request."""
    descriptor = route.method.input_type
    document: dict[str, Any] = {}
    if route.body:
        parsed = _parse_body(body)
        if route.body == "*":
            if not isinstance(parsed, dict):
                raise _bad("", "the request body must be a JSON object")
            _check_members(parsed, descriptor, "")
            document = parsed
        elif parsed is not None:
            field = _field(descriptor, route.body)
            assert field is not None, f"{route.body} is not a field of {descriptor.full_name}"
            _check_value(parsed, field, _json_name(field))
            document[_json_name(field)] = parsed
    elif body.strip():
        raise _bad("", f"{route.verb} {route.template.text} takes no request body")
    if route.body != "*":
        for name, value in query:
            if name not in RESERVED_PARAMETERS:
                _put_parameter(document, descriptor, name, value)
    for path, value in bound.items():
        _put(document, descriptor, path.split("."), value, path)
    message: Message = _message_class(descriptor)()
    try:
        json_format.ParseDict(document, message, descriptor_pool=_TYPES)
    except json_format.ParseError as error:
        raise _bad("", str(error)) from None
    return message


def _message_class(descriptor: Descriptor) -> Any:  # noqa: ANN401
    from google.protobuf import message_factory  # noqa: PLC0415

    return message_factory.GetMessageClass(descriptor)


def _parse_body(body: bytes) -> object:
    if not body.strip():
        return None
    try:
        parsed: object = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise _bad("", f"the request body is not valid JSON: {error}") from None
    return parsed


def _bad(field: str, description: str, reason: str = BAD_JSON) -> ServiceError:
    return invalid_argument([FieldViolation(field, description, reason)])


def _field(descriptor: Descriptor, name: str) -> FieldDescriptor | None:
    """The field of `descriptor` called `name`, by JSON name or proto name."""
    found: FieldDescriptor | None = descriptor.fields_by_name.get(name)
    if found is not None:
        return found
    fields: list[FieldDescriptor] = list(descriptor.fields)
    return next((field for field in fields if _json_name(field) == name), None)


def _json_name(field: FieldDescriptor) -> str:
    # Not in every version of the protobuf stubs.
    name: str = cast("Any", field).json_name
    return name


def _unknown(path: str, name: str, descriptor: Descriptor, where: str = "") -> ServiceError:
    return _bad(
        path,
        f"unknown field `{name}`{where}: {descriptor.full_name} has no such field",
        UNKNOWN,
    )


def _join(path: str, leaf: str) -> str:
    return f"{path}.{leaf}" if path else leaf


def _check_members(value: dict[str, Any], descriptor: Descriptor, path: str) -> None:
    """Refuse any member of `value` that is not a field of `descriptor`, at any depth."""
    if descriptor.full_name in _SPECIAL:
        return
    for name, member in value.items():
        field = _field(descriptor, name)
        if field is None:
            raise _unknown(_join(path, name), name, descriptor)
        _check_value(member, field, _join(path, name))


def _check_value(value: object, field: FieldDescriptor, path: str) -> None:
    message = field.message_type
    if message is None or value is None:
        return
    if message.GetOptions().map_entry:
        entry = message.fields_by_name["value"]
        if isinstance(value, dict):
            for key, item in value.items():
                _check_value(item, entry, f"{path}[{key!r}]")
        return
    if is_repeated(field) and isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict):
                _check_members(item, message, f"{path}[{index}]")
    elif isinstance(value, dict):
        _check_members(value, message, path)


def _put_parameter(document: dict[str, Any], descriptor: Descriptor, name: str, value: str) -> None:
    """Set the field a query parameter names (dotted for nested fields)."""
    _put(document, descriptor, name.split("."), value, name, query=True)


def _put(
    document: dict[str, Any],
    descriptor: Descriptor,
    names: list[str],
    value: str,
    path: str,
    *,
    query: bool = False,
) -> None:
    where = " (a query parameter)" if query else ""
    target = document
    for position, name in enumerate(names):
        field = _field(descriptor, name)
        if field is None:
            raise _unknown(path, name, descriptor, where)
        # Keep whichever spelling the body already used for this field.
        key = field.name if field.name in target else _json_name(field)
        if position == len(names) - 1:
            if field.message_type is not None and field.message_type.full_name not in _SPECIAL:
                raise _bad(path, f"`{path}` is a message; name one of its fields")
            scalar = _scalar(field, value, path)
            if is_repeated(field) and query:
                target.setdefault(key, []).append(scalar)
            else:
                target[key] = scalar
            return
        if field.message_type is None or is_repeated(field):
            raise _bad(path, f"`{name}` has no fields to set")
        nested = target.setdefault(key, {})
        if not isinstance(nested, dict):
            raise _bad(path, f"`{name}` is given twice")
        target, descriptor = nested, field.message_type


_INTEGERS = frozenset(
    {
        FieldDescriptor.TYPE_INT32,
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT32,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT32,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_FIXED32,
        FieldDescriptor.TYPE_FIXED64,
        FieldDescriptor.TYPE_SFIXED32,
        FieldDescriptor.TYPE_SFIXED64,
    }
)


def _scalar(field: FieldDescriptor, text: str, path: str) -> object:
    """The JSON value a text from a path or a query stands for, by the field's type."""
    kind = field.type
    try:
        if kind == FieldDescriptor.TYPE_BOOL:
            if text not in ("true", "false"):
                raise ValueError(text)
            return text == "true"
        if kind in _INTEGERS:
            return int(text)
        if kind in (FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE):
            return float(text)
    except ValueError:
        raise _bad(path, f"`{path}` cannot be {text!r}") from None
    return text
