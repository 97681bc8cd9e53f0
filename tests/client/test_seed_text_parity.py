"""Seeds 000 (Vertex AI's TextGenerationModel) and 001-002 (the v1beta text API and tuned
models) written against our client and FakeServer, on both shells.

Vertex's `model.predict(prompt, presence_penalty=..., logit_bias=..., seed=...)` is
`client.models.generate_text(model, prompt, ...)`; `model.tune_model(training_data=
"path.jsonl")` is `client.tuned_models.create(base, "path.jsonl")`; a tuned model answers
generateText under its own name; `client.batches.delete(name=job.name)` is google-genai's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textgen.v1 import message_pb2, tuned_model_pb2

from tests.client.conftest import Api
from textgen import errors
from textgen.testing.fake_server import FakeServer
from textgen.testing.pacing import Progression

FAKE_SERVER = {"clock": "manual"}
PROGRESSION = Progression.immediate()

TEXT = "text-bison-001"
CHAT = "chat-bison-001"
PROMPT = "Write a story about a magic backpack."
NUMERALS = [("I", "II"), ("II", "III"), ("III", "IV"), ("IV", "V")]
Tuned = tuned_model_pb2.TunedModel


def violations(error: errors.APIError) -> list[str]:
    return [violation.field for violation in error.field_violations]


# --- seed 000: predict's sampling settings ---------------------------------------------------


async def test_predict_settings_reach_the_server(live: Api, fake: FakeServer) -> None:
    answer = await live(
        lambda c: c.models.generate_text(
            TEXT,
            PROMPT,
            max_output_tokens=128,
            temperature=0.2,
            presence_penalty=0.5,
            frequency_penalty=-0.5,
            logprobs=3,
            logit_bias={"the": -100.0},
            seed=7,
        )
    )
    sent = fake.journal.last("GenerateText").request
    assert (sent.presence_penalty, sent.frequency_penalty) == (0.5, -0.5)
    assert (sent.logprobs, dict(sent.logit_bias), sent.seed) == (3, {"the": -100.0}, 7)
    assert answer.text
    # logprobs: each chosen token with its log probability and the 3 likeliest alternatives.
    candidate = answer.raw.candidates[0]
    steps = candidate.logprobs_result.top_candidates
    assert steps and all(len(step.candidates) == 3 for step in steps)
    assert candidate.avg_logprobs < 0


async def test_predict_streaming_takes_the_same_settings(live: Api, fake: FakeServer) -> None:
    chunks = await live.items(
        lambda c: c.models.stream_generate_text(
            TEXT, PROMPT, presence_penalty=1.0, frequency_penalty=1.0, seed=3, logit_bias={"a": 1}
        )
    )
    assert "".join(chunk.text for chunk in chunks)
    sent = fake.journal.last("StreamGenerateText").request
    assert (sent.presence_penalty, sent.frequency_penalty, sent.seed) == (1.0, 1.0, 3)
    assert dict(sent.logit_bias) == {"a": 1.0}


async def test_predict_settings_out_of_range_are_invalid_argument(live: Api) -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        await live(
            lambda c: c.models.generate_text(
                TEXT,
                PROMPT,
                presence_penalty=2.0,
                frequency_penalty=-3.0,
                logprobs=6,
                logit_bias={"the": 150.0},
            )
        )
    assert sorted(violations(caught.value)) == sorted(
        ["presence_penalty", "frequency_penalty", "logprobs", 'logit_bias["the"]']
    )


# --- seed 000 tune_model(training_data="path"), seeds 001-002: a tuned text model -----------


def write_jsonl(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


async def test_tune_text_bison_from_a_vertex_jsonl_then_generate_text(
    live: Api, fake: FakeServer, tmp_path: Path
) -> None:
    data = write_jsonl(
        tmp_path / "numerals.jsonl", [{"input_text": a, "output_text": b} for a, b in NUMERALS]
    )
    operation = await live(
        lambda c: c.tuned_models.create(
            f"models/{TEXT}", str(data), tuned_model_id="numerals", epoch_count=2
        )
    )
    tuned = await live(lambda c: operation.result(timeout=15))
    assert tuned.state == Tuned.ACTIVE and tuned.name == "tunedModels/numerals"
    sent = fake.journal.last("CreateTunedModel").request.tuned_model
    examples = sent.tuning_task.training_data.examples.examples
    assert [(e.text_input, e.output) for e in examples] == NUMERALS
    # Seed 001: generateText on tunedModels/*, as models.generate_text and tuned_models'.
    answer = await live(lambda c: c.models.generate_text("tunedModels/numerals", "III"))
    assert answer.text == "IV"
    again = await live(lambda c: c.tuned_models.generate_text("numerals", "I"))
    assert again.text == "II"
    counted = await live(lambda c: c.models.count_text_tokens("tunedModels/numerals", "III"))
    assert counted > 0
    # Seed 002's get_model("tunedModels/..."), seed 004's models.get(model=...): the tuned
    # model described as a Model, with its base's generation methods.
    described = await live(lambda c: c.models.get("tunedModels/numerals"))
    assert described.name == "tunedModels/numerals"
    assert "generateText" in described.supported_generation_methods


async def test_tune_from_a_pathlike_csv_with_prompt_and_completion(
    live: Api, fake: FakeServer, tmp_path: Path
) -> None:
    data = tmp_path / "numerals.csv"
    data.write_text("prompt,completion\n" + "".join(f"{a},{b}\n" for a, b in NUMERALS))
    operation = await live(lambda c: c.tuned_models.create(TEXT, data, epoch_count=1))
    tuned = await live(lambda c: operation.result(timeout=15))
    sent = fake.journal.last("CreateTunedModel").request.tuned_model
    examples = sent.tuning_task.training_data.examples.examples
    assert [(e.text_input, e.output) for e in examples] == NUMERALS
    answer = await live(lambda c: c.models.generate_text(tuned.name, "II"))
    assert answer.text == "III"


async def test_in_memory_dicts_take_every_key_the_files_take(live: Api, fake: FakeServer) -> None:
    data = [
        {"input_text": "I", "output_text": "II"},
        {"prompt": "II", "completion": "III"},
        {"text_input": "III", "output": "IV"},
        ["IV", "V"],
    ]
    operation = await live(lambda c: c.tuned_models.create(TEXT, data, epoch_count=1))
    await live(lambda c: operation.result(timeout=15))
    sent = fake.journal.last("CreateTunedModel").request.tuned_model
    examples = sent.tuning_task.training_data.examples.examples
    assert [(e.text_input, e.output) for e in examples] == NUMERALS


async def test_a_bad_training_file_is_a_usage_error_before_anything_is_sent(
    live: Api, fake: FakeServer, tmp_path: Path
) -> None:
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"input_text": "I", "output_text": "II"}])
    with bad.open("a") as out:
        out.write('{"input_text": "II"}\n')
    with pytest.raises(errors.UsageError, match=r"bad\.jsonl, line 2: expected"):
        await live(lambda c: c.tuned_models.create(TEXT, str(bad)))
    with pytest.raises(errors.UsageError, match="no such file"):
        await live(lambda c: c.tuned_models.create(TEXT, str(tmp_path / "missing.jsonl")))
    fake.journal.assert_called("CreateTunedModel", times=0)


# --- seed 001: generateMessage's messages alternate between two authors --------------------


async def test_messages_that_do_not_alternate_are_refused_on_the_author(live: Api) -> None:
    turns = [
        message_pb2.Message(author="user", content="Hello"),
        message_pb2.Message(author="model", content="Hi!"),
        message_pb2.Message(author="model", content="Anything else?"),
    ]
    with pytest.raises(errors.InvalidArgument) as caught:
        await live(lambda c: c.models.generate_message(CHAT, turns))
    assert violations(caught.value) == ["prompt.messages[2].author"]
    turns[2].author = "user"
    reply = await live(lambda c: c.models.generate_message(CHAT, turns))
    assert reply.candidates[0].author == "model"


# --- google-genai's batches.delete(name=job.name) -------------------------------------------


async def test_delete_a_batch_job(live: Api, fake: FakeServer) -> None:
    job = await live(lambda c: c.batches.create(TEXT, rows=["one", "two"]))
    await live(lambda c: job.wait(timeout=15))
    deleted = await live(lambda c: c.batches.delete(name=job.name))
    assert deleted is None
    sent = fake.journal.last("DeleteOperation").request
    assert sent.name == job.name
    with pytest.raises(errors.NotFound):
        await live(lambda c: c.batches.get(name=job.name))
    # A bare task id names the same job.
    other = await live(lambda c: c.batches.create(TEXT, rows=["three"]))
    await live(lambda c: other.wait(timeout=15))
    await live(lambda c: c.batches.delete(other.task_id))
    with pytest.raises(errors.NotFound):
        await live(lambda c: c.batches.get(other.task_id))
