"""Seed 001's REST form against the emulator: POST /v1beta/{model=tunedModels/*}:generateText
on a model tuned from text-bison-001, with the Vertex AI settings this contract adds under
their JSON names."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

import textgen
from textgen.testing import FakeServer, Progression

pytest.importorskip("aiohttp", reason="the HTTP server needs the `http` extra (aiohttp)")

TUNED = "tunedModels/sentence-translator-u3b7m"


def post(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def test_generate_text_on_a_tuned_model_over_rest() -> None:
    with (
        FakeServer(http=True, progression=Progression.immediate()) as fake,
        textgen.Client(fake.target) as client,
    ):
        pairs = [("I", "II"), ("II", "III"), ("III", "IV")]
        operation = client.tuned_models.create(
            "models/text-bison-001", pairs, tuned_model_id=TUNED.split("/")[1], epoch_count=2
        )
        operation.result(timeout=15)
        body = {
            "prompt": {"text": "II"},
            "temperature": 0.2,
            "presencePenalty": 0.5,
            "frequencyPenalty": 0.25,
            "logprobs": 1,
            "logitBias": {"x": 1.5},
            "seed": 3,
        }
        answer = post(f"{fake.http_url}/v1beta/{TUNED}:generateText", body)
        (candidate,) = answer["candidates"]
        assert candidate["output"] == "III"
        assert candidate["logprobsResult"]["chosenCandidates"]
        sent = fake.journal.last("GenerateText").request
        assert sent.model == TUNED
        assert (sent.presence_penalty, sent.frequency_penalty, sent.seed) == (0.5, 0.25, 3)
        assert dict(sent.logit_bias) == {"x": 1.5}
