"""Encoding cost of a GenerateContentRequest: binary protobuf against JSON (the baseline)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from google.protobuf import json_format
from textgen.v1 import content_pb2, generation_pb2, model_service_pb2


def _request() -> model_service_pb2.GenerateContentRequest:
    turns = [
        content_pb2.Content(
            role="user" if i % 2 == 0 else "model",
            parts=[content_pb2.Part(text=f"turn {i}: " + "lorem ipsum dolor sit amet " * 8)],
        )
        for i in range(10)
    ]
    return model_service_pb2.GenerateContentRequest(
        model="models/gemini-1.5-flash",
        contents=turns,
        generation_config=generation_pb2.GenerationConfig(temperature=0.5, max_output_tokens=256),
    )


def _median_seconds(action: Callable[[], object], rounds: int = 7, calls: int = 2000) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            action()
        samples.append((time.perf_counter() - start) / calls)
    return statistics.median(samples)


def main() -> None:
    """Print per-call medians and the binary/JSON ratios, measured in this run."""
    request = _request()
    wire = request.SerializeToString()
    text = json_format.MessageToJson(request)
    cls = model_service_pb2.GenerateContentRequest
    encode_bin = _median_seconds(request.SerializeToString)
    encode_json = _median_seconds(lambda: json_format.MessageToJson(request), calls=200)
    decode_bin = _median_seconds(lambda: cls.FromString(wire))
    decode_json = _median_seconds(lambda: json_format.Parse(text, cls()), calls=200)
    print(f"size: binary {len(wire)} B, JSON {len(text)} B ({len(wire) / len(text):.2f}x)")
    print(
        f"encode: binary {encode_bin * 1e6:.1f} us, JSON {encode_json * 1e6:.1f} us "
        f"(binary takes {encode_bin / encode_json:.3f}x of JSON)"
    )
    print(
        f"decode: binary {decode_bin * 1e6:.1f} us, JSON {decode_json * 1e6:.1f} us "
        f"(binary takes {decode_bin / decode_json:.3f}x of JSON)"
    )
