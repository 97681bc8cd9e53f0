"""Protobuf's wire format written by hand, for the tests that send bytes an encoder would
not (unknown fields, padded varints, fields out of order), and a way to run a check under
the pure-Python protobuf runtime, which a process chooses once, at start-up."""

from __future__ import annotations

import os
import subprocess
import sys

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5


def varint(value: int, padding: int = 0) -> bytes:
    """`value` as a varint, with `padding` extra bytes (which decode to the same value)."""
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        if not value and not padding:
            out.append(low)
            return bytes(out)
        if not value:
            padding -= 1
        out.append(low | 0x80)


def tag(number: int, wire_type: int) -> bytes:
    """The key of field `number` sent with `wire_type`."""
    return varint(number << 3 | wire_type)


def field(number: int, payload: bytes) -> bytes:
    """Field `number`, length-delimited, holding `payload`."""
    return tag(number, LENGTH) + varint(len(payload)) + payload


def assert_passes_on_pure_python(script: str) -> None:
    """Run `script` in a fresh interpreter on the pure-Python runtime; it must exit 0."""
    env = {**os.environ, "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION": "python"}
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
