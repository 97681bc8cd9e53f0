"""textgen._protobuf's unknown-field checks agree with the walk (every message of the decoded
tree asked for its own unknown fields), wherever the unknown field sits: the merged shadow
behind them finds it, and the walk settles what the shadow cannot tell."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import Any, cast

import pytest
from google.longrunning import operations_proto_pb2
from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, message_factory, struct_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.rpc import status_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textgen.v1 import (
    content_pb2,
    dataset_pb2,
    dataset_service_pb2,
    model_service_pb2,
    tuned_model_pb2,
    tuned_model_service_pb2,
)

from tests.server.fuzzing import messages
from tests.wire import (
    FIXED32,
    FIXED64,
    LENGTH,
    VARINT,
    assert_passes_on_pure_python,
    field,
    tag,
    varint,
)
from textgen import _protobuf
from textgen._protobuf import (
    SHADOW_DEPTH,
    decoded_with_unknown_fields,
    has_unknown_fields,
    is_repeated,
    may_hold_unknown_fields,
    message_tree,
    unknown_field_numbers,
)

STRAY = 99  # a field number no message here defines
STRAY_FIELD = tag(STRAY, VARINT) + b"\x01"


def walk(cls: type[Message], data: bytes) -> bool:
    """The reference answer: the decoded tree walked in Python."""
    decoded = cls.FromString(data)
    return any(unknown_field_numbers(message) for _, message in message_tree(decoded))


@pytest.fixture(autouse=True, params=["small path", "shadow only"])
def small_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test runs twice: as shipped (encodings under _SMALL bytes are checked by
    discarding and encoding again) and with every encoding going to the shadow."""
    if request.param == "shadow only":
        monkeypatch.setattr(_protobuf, "_SMALL", 0)


def check(cls: type[Message], data: bytes, expected: bool) -> None:
    """Every answer about `data` as `cls` is `expected`, and so is the walk's."""
    assert walk(cls, data) is expected
    assert decoded_with_unknown_fields(cls.FromString(data), data) is expected
    assert has_unknown_fields(cls.FromString(data)) is expected
    assert may_hold_unknown_fields(cls, data) is expected


# --- where the unknown field sits ------------------------------------------------------

Request = model_service_pb2.GenerateContentRequest
USER = content_pb2.Content(role="user", parts=[content_pb2.Part(text="Hello")])


def request(*contents: content_pb2.Content) -> bytes:
    message = Request(model="models/gemini-1.5-flash", contents=contents or [USER])
    return message.SerializeToString()


def part(text: str, *extra: bytes) -> content_pb2.Part:
    return content_pb2.Part.FromString(
        content_pb2.Part(text=text).SerializeToString() + b"".join(extra)
    )


def turn(*parts: content_pb2.Part) -> content_pb2.Content:
    return content_pb2.Content(role="user", parts=parts)


def test_none() -> None:
    check(Request, request(), False)
    check(Request, request(turn(part("a"), part("b")), USER), False)


def test_at_the_top() -> None:
    check(Request, request() + STRAY_FIELD, True)
    check(Request, STRAY_FIELD + request(), True)


@pytest.mark.parametrize("position", [0, 1, 4])
def test_in_one_element_of_a_repeated_message(position: int) -> None:
    parts = [part(f"p{n}", STRAY_FIELD if n == position else b"") for n in range(5)]
    check(Request, request(USER, turn(*parts), USER), True)


def _call_with_stray() -> content_pb2.Part:
    call = content_pb2.FunctionCall(name="weather").SerializeToString() + STRAY_FIELD
    return content_pb2.Part(function_call=content_pb2.FunctionCall.FromString(call))


@pytest.mark.parametrize("stray_first", [True, False])
def test_in_a_oneof_member_another_element_replaces_in_the_merge(stray_first: bool) -> None:
    # In the shadow, every part merges into one; were the oneof kept, the later part's
    # `text` would clear the earlier `function_call` and its unknown field with it.
    parts = [_call_with_stray(), part("later")]
    check(Request, request(turn(*(parts if stray_first else parts[::-1]))), True)


def test_in_a_map_value() -> None:
    city = struct_pb2.Value.FromString(
        struct_pb2.Value(string_value="Paris").SerializeToString() + STRAY_FIELD
    )
    args = struct_pb2.Struct()
    args.fields["a"].number_value = 1
    args.fields["city"].CopyFrom(city)
    args.fields["z"].bool_value = True
    call = content_pb2.Part(function_call=content_pb2.FunctionCall(name="f", args=args))
    check(Request, request(turn(call)), True)


def test_in_a_map_entry() -> None:
    # protobuf keeps a whole entry holding an unknown field as an unknown field of the map's
    # message; the shadow sees it in the entry.
    entry = field(1, b"key") + field(2, struct_pb2.Value(number_value=1).SerializeToString())
    check(struct_pb2.Struct, field(1, entry + STRAY_FIELD), True)
    check(struct_pb2.Struct, field(1, entry), False)


def nested_lists(levels: int, leaf: bytes = b"") -> bytes:
    """A ListValue holding a Value holding a ListValue..., `levels` of each, with `leaf` in the
    innermost ListValue, 2 * levels messages down."""
    data = leaf
    for _ in range(levels):
        data = field(1, field(6, data))  # ListValue.values[0].list_value
    return data


def test_in_a_recursive_struct() -> None:
    value = struct_pb2.Value()
    value.struct_value.update({"a": {"b": [1, {"c": "d"}]}})
    data = value.SerializeToString()
    check(struct_pb2.Value, data, False)
    inner = struct_pb2.Value()
    inner.CopyFrom(value)
    deep = inner.struct_value.fields["a"].struct_value.fields["b"].list_value.values[1]
    deep.MergeFromString(STRAY_FIELD)
    check(struct_pb2.Value, inner.SerializeToString(), True)
    for levels in (5, 20):
        check(struct_pb2.ListValue, nested_lists(levels, STRAY_FIELD), True)
        check(struct_pb2.ListValue, nested_lists(levels), False)


def test_deeper_than_the_shadow_follows() -> None:
    # Past SHADOW_DEPTH the shadow leaves message fields out, so their bytes count as unknown
    # there and the walk decides; past upb's discard (63 levels) the old check missed them.
    levels = SHADOW_DEPTH // 2 + 5
    for leaf, expected in ((STRAY_FIELD, True), (b"", False)):
        data = nested_lists(levels, leaf)
        assert may_hold_unknown_fields(struct_pb2.ListValue, data) is True
        assert walk(struct_pb2.ListValue, data) is expected
        decoded = struct_pb2.ListValue.FromString(data)
        assert decoded_with_unknown_fields(decoded, data) is expected
        assert has_unknown_fields(struct_pb2.ListValue.FromString(data)) is expected


def test_down_to_the_deepest_level_the_shadow_follows() -> None:
    # The deepest message the shadow still models (an even level, a ListValue, at or just
    # above SHADOW_DEPTH) is checked by the shadow alone.
    levels = SHADOW_DEPTH // 2
    data = nested_lists(levels, STRAY_FIELD)
    check(struct_pb2.ListValue, data, True)
    assert may_hold_unknown_fields(struct_pb2.ListValue, nested_lists(levels)) is False


def test_upb_discards_down_to_the_level_the_small_path_relies_on() -> None:
    # _SMALL assumes DiscardUnknownFields reaches the first 63 levels: a message shorter than
    # 2 * 63 bytes is checked by discarding and encoding again.
    levels = 31  # the unknown field 62 levels down
    data = nested_lists(levels, STRAY_FIELD)
    decoded = struct_pb2.ListValue.FromString(data)
    cast("Any", decoded).DiscardUnknownFields()  # not in every version's typing stubs
    assert not any(unknown_field_numbers(m) for _, m in message_tree(decoded))
    assert len(nested_lists(32)) >= 2 * 63  # a message 63 levels down is never small


def test_a_packed_field_sent_unpacked_is_not_unknown() -> None:
    cls = tuned_model_service_pb2.CreateTunedModelRequest
    numbers = tuned_model_pb2.TunedModel.DESCRIPTOR.fields_by_name["reader_project_numbers"]
    unpacked = b"".join(tag(numbers.number, VARINT) + varint(n) for n in (7, 8, 9))
    model = tuned_model_pb2.TunedModel(display_name="m").SerializeToString()
    holder = cls.DESCRIPTOR.fields_by_name["tuned_model"].number
    data = field(holder, model + unpacked)
    assert list(cls.FromString(data).tuned_model.reader_project_numbers) == [7, 8, 9]
    check(cls, data, False)
    # Under a wire type neither packed nor unpacked: unknown.
    check(cls, field(holder, model + tag(numbers.number, FIXED32) + b"\x00" * 4), True)


def test_a_known_field_with_another_wire_type_is_unknown() -> None:
    # Part.text as a varint, a repeated message (contents) as a fixed64: upb keeps both as
    # unknown fields, and so do the shadow and the walk.
    text = content_pb2.Part.DESCRIPTOR.fields_by_name["text"].number
    check(Request, request(turn(part("a", tag(text, VARINT) + b"\x05"))), True)
    contents = Request.DESCRIPTOR.fields_by_name["contents"].number
    check(Request, request() + tag(contents, FIXED64) + b"\x00" * 8, True)


def test_an_undefined_value_of_an_open_enum_is_not_unknown() -> None:
    settings_field = Request.DESCRIPTOR.fields_by_name["safety_settings"]
    assert settings_field.message_type is not None
    category = settings_field.message_type.fields_by_name["category"]
    assert category.enum_type is not None
    assert not category.enum_type.values_by_number.get(999)
    setting = field(settings_field.number, tag(category.number, VARINT) + varint(999))
    assert Request.FromString(request() + setting).safety_settings[0].category == 999
    check(Request, request() + setting, False)


def test_an_undefined_value_of_a_closed_enum_is_unknown() -> None:
    # descriptor.proto is proto2: its enums are closed, and an undefined value is kept as an
    # unknown field, in the message as in its shadow.
    cls = descriptor_pb2.FieldDescriptorProto
    kind = cls.DESCRIPTOR.fields_by_name["type"].number
    named = field(1, b"f")
    check(cls, named + tag(kind, VARINT) + varint(9), False)  # TYPE_STRING
    check(cls, named + tag(kind, VARINT) + varint(99), True)
    message = descriptor_pb2.DescriptorProto.DESCRIPTOR.fields_by_name["field"].number
    check(
        descriptor_pb2.DescriptorProto, field(message, named + tag(kind, VARINT) + varint(99)), True
    )


def test_messages_of_other_packages() -> None:
    detail = any_pb2.Any()
    detail.Pack(struct_pb2.Value(string_value="x"))
    status = status_pb2.Status(code=3, message="bad", details=[detail])
    operation = operations_proto_pb2.Operation(name="operations/1", done=True, error=status)
    listed = operations_proto_pb2.ListOperationsResponse(operations=[operation, operation])
    data = listed.SerializeToString()
    check(operations_proto_pb2.ListOperationsResponse, data, False)
    stray_status = status_pb2.Status.FromString(status.SerializeToString() + STRAY_FIELD)
    second = operations_proto_pb2.Operation(name="operations/2", error=stray_status)
    with_stray = operations_proto_pb2.ListOperationsResponse(operations=[operation, second])
    check(operations_proto_pb2.ListOperationsResponse, with_stray.SerializeToString(), True)


def test_the_shadow_may_answer_true_where_the_walk_settles_it() -> None:
    # Encodings where a later field replaces an earlier one with an unknown field in it:
    # a oneof member, then another (the first is cleared), and a map key sent twice.
    call = _call_with_stray().SerializeToString()
    replaced = call + content_pb2.Part(text="later").SerializeToString()
    assert content_pb2.Part.FromString(replaced).WhichOneof("data") == "text"
    stray_value = struct_pb2.Value(string_value="a").SerializeToString() + STRAY_FIELD
    twice = field(1, field(1, b"k") + field(2, stray_value)) + field(
        1, field(1, b"k") + field(2, struct_pb2.Value(string_value="b").SerializeToString())
    )
    assert struct_pb2.Struct.FromString(twice).fields["k"].string_value == "b"
    for cls, data in ((content_pb2.Part, replaced), (struct_pb2.Struct, twice)):
        assert may_hold_unknown_fields(cls, data) is True
        assert walk(cls, data) is False
        assert decoded_with_unknown_fields(cls.FromString(data), data) is False
        assert has_unknown_fields(cls.FromString(data)) is False


def test_undecodable_bytes() -> None:
    assert may_hold_unknown_fields(Request, b"\x0a\x05ab") is True


def _grouped() -> type[Message]:
    # A proto2 message with a group, which the shadow leaves out (groups encode differently).
    kind = descriptor_pb2.FieldDescriptorProto
    file = descriptor_pb2.FileDescriptorProto(
        name="grouped.proto", package="grouped", syntax="proto2"
    )
    outer = file.message_type.add(name="Outer")
    item = outer.nested_type.add(name="Item")
    item.field.add(name="x", number=1, type=kind.TYPE_INT32, label=kind.LABEL_OPTIONAL)
    outer.field.add(name="name", number=1, type=kind.TYPE_STRING, label=kind.LABEL_OPTIONAL)
    outer.field.add(
        name="item",
        number=2,
        type=kind.TYPE_GROUP,
        type_name=".grouped.Outer.Item",
        label=kind.LABEL_REPEATED,
    )
    pool: Any = descriptor_pool.DescriptorPool()
    pool.Add(file)
    found: type[Message] = message_factory.GetMessageClass(
        pool.FindMessageTypeByName("grouped.Outer")
    )
    return found


def test_a_group_is_left_to_the_walk() -> None:
    cls = _grouped()
    start, end = tag(2, 3), tag(2, 4)
    clean = field(1, b"a") + start + tag(1, VARINT) + b"\x01" + end
    assert may_hold_unknown_fields(cls, clean) is True
    assert decoded_with_unknown_fields(cls.FromString(clean), clean) is False
    stray = field(1, b"a") + start + tag(1, VARINT) + b"\x01" + STRAY_FIELD + end
    assert decoded_with_unknown_fields(cls.FromString(stray), stray) is True
    assert has_unknown_fields(cls.FromString(stray)) is True


def shadow_of(cls: type[Message]) -> type[Message] | None:
    message_type: Any = cls.DESCRIPTOR  # whichever class the typing stubs give it
    return _protobuf._shadow_type(message_type)


def test_a_shadow_is_built_once_per_message_type() -> None:
    first = shadow_of(Request)
    assert first is not None
    assert shadow_of(Request) is first
    before = len(_protobuf._shadows)
    check(struct_pb2.Struct, struct_pb2.Struct().SerializeToString(), False)
    check(struct_pb2.Struct, struct_pb2.Struct().SerializeToString(), False)
    assert len(_protobuf._shadows) <= before + 1


def test_the_shadow_of_many_elements_is_one_merged_message() -> None:
    # What makes the check cheap: 500 parts decode, as the shadow, into one.
    parts = [part(f"part {n} of a long turn") for n in range(500)]
    data = request(turn(*parts))
    shadow = shadow_of(Request)
    assert shadow is not None
    assert shadow.FromString(data).ByteSize() < 100 < len(data) // 100


_PURE_PYTHON = textwrap.dedent(
    """
    from google.protobuf import struct_pb2
    from google.protobuf.internal import api_implementation
    from textgen._protobuf import (
        decoded_with_unknown_fields, has_unknown_fields, may_hold_unknown_fields,
    )

    assert api_implementation.Type() == "python", api_implementation.Type()
    value = struct_pb2.Value()
    value.struct_value.update({"a": [1, {"b": "c"}]})
    data = value.SerializeToString()
    stray = struct_pb2.Value()
    stray.CopyFrom(value)
    stray.struct_value.fields["a"].list_value.values[1].MergeFromString(b"\\x98\\x06\\x01")
    stray_data = stray.SerializeToString()
    for encoded, expected in ((data, False), (stray_data, True)):
        decoded = struct_pb2.Value.FromString(encoded)
        assert decoded.ByteSize() > 0  # sizes cached before the checks
        assert decoded_with_unknown_fields(decoded, encoded) is expected
        assert has_unknown_fields(decoded) is expected
        assert may_hold_unknown_fields(struct_pb2.Value, encoded) is expected
    """
)


def test_the_pure_python_runtime_walks() -> None:
    assert_passes_on_pure_python(_PURE_PYTHON)


# --- any unknown field, anywhere: the property ------------------------------------------


def _wire_types(field_descriptor: FieldDescriptor | None) -> set[int]:
    # The wire types under which protobuf reads a field as that field (an undefined number:
    # none). Groups are left out of the property: none of the types below has one.
    if field_descriptor is None:
        return set()
    kind = field_descriptor.type
    if kind in (
        field_descriptor.TYPE_MESSAGE,
        field_descriptor.TYPE_STRING,
        field_descriptor.TYPE_BYTES,
    ):
        return {LENGTH}
    if kind in (
        field_descriptor.TYPE_DOUBLE,
        field_descriptor.TYPE_FIXED64,
        field_descriptor.TYPE_SFIXED64,
    ):
        scalar = FIXED64
    elif kind in (
        field_descriptor.TYPE_FLOAT,
        field_descriptor.TYPE_FIXED32,
        field_descriptor.TYPE_SFIXED32,
    ):
        scalar = FIXED32
    else:
        scalar = VARINT
    return {scalar, LENGTH} if is_repeated(field_descriptor) else {scalar}


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at, shift = at + 1, shift + 7
        if not byte & 0x80:
            return value, at


def _fields(data: bytes) -> list[tuple[int, int, int, int]]:
    """(number, wire type, start, end) of each field of an encoded message (no groups)."""
    found = []
    at = 0
    while at < len(data):
        start = at
        key, at = _read_varint(data, at)
        number, wire_type = key >> 3, key & 7
        if wire_type == VARINT:
            _, at = _read_varint(data, at)
        elif wire_type == FIXED64:
            at += 8
        elif wire_type == FIXED32:
            at += 4
        else:
            assert wire_type == LENGTH, wire_type
            size, at = _read_varint(data, at)
            at += size
        found.append((number, wire_type, start, at))
    return found


def _stray(message: Descriptor, draw: Callable[[st.SearchStrategy[Any]], Any]) -> bytes:
    # A field the message keeps as unknown: an undefined number, or a defined one under a
    # wire type protobuf does not read it with.
    defined = [f.number for f in message.fields]
    number = draw(st.sampled_from([STRAY, 1000, *defined]))
    known = _wire_types(message.fields_by_number.get(number))
    wire_type = draw(
        st.sampled_from([w for w in (VARINT, FIXED64, LENGTH, FIXED32) if w not in known])
    )
    if wire_type == VARINT:
        payload = varint(draw(st.integers(0, 2**64 - 1)))
    elif wire_type == LENGTH:
        blob = draw(st.binary(max_size=8))
        payload = varint(len(blob)) + blob
    else:
        payload = draw(st.binary(min_size=8 if wire_type == FIXED64 else 4, max_size=8))[
            : 8 if wire_type == FIXED64 else 4
        ]
    return tag(number, wire_type) + payload


def _splice(
    message: Descriptor, data: bytes, draw: Callable[[st.SearchStrategy[Any]], Any]
) -> bytes:
    """`data` with one unknown field put in at a drawn place: between two fields of this
    message, or (recursively) inside one of its message fields."""
    fields = _fields(data)
    nested = [
        f
        for f in fields
        if f[1] == LENGTH
        and (known := message.fields_by_number.get(f[0])) is not None
        and known.type == known.TYPE_MESSAGE
    ]
    if nested and draw(st.booleans()):
        number, _, start, end = draw(st.sampled_from(nested))
        sub = message.fields_by_number[number].message_type
        assert sub is not None
        _, payload_at = _read_varint(data, start + len(tag(number, LENGTH)))
        inner = _splice(sub, data[payload_at:end], draw)
        return data[:start] + field(number, inner) + data[end:]
    at = draw(st.sampled_from([0, *(f[3] for f in fields)]))
    return data[:at] + _stray(message, draw) + data[at:]


PROPERTY_TYPES: list[type[Message]] = [
    model_service_pb2.GenerateContentRequest,
    dataset_service_pb2.UploadDatasetRequest,
    tuned_model_service_pb2.CreateTunedModelRequest,
    dataset_pb2.DatasetRow,
    struct_pb2.Struct,
    operations_proto_pb2.ListOperationsResponse,
]


@pytest.mark.parametrize(
    "cls", PROPERTY_TYPES, ids=[c.DESCRIPTOR.full_name for c in PROPERTY_TYPES]
)
@settings(
    max_examples=150,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_the_checks_agree_with_the_walk(cls: type[Message], data: st.DataObject) -> None:
    message_type: Any = cls.DESCRIPTOR  # whichever class the typing stubs give it
    message = data.draw(messages(message_type))
    encoded = message.SerializePartialToString()
    for _ in range(data.draw(st.integers(0, 3))):
        encoded = _splice(message_type, encoded, data.draw)
    expected = walk(cls, encoded)
    assert may_hold_unknown_fields(cls, encoded) is expected
    assert decoded_with_unknown_fields(cls.FromString(encoded), encoded) is expected
    assert has_unknown_fields(cls.FromString(encoded)) is expected
