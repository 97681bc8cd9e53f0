"""Google's REST SDK, google-genai, against the emulator's HTTP/JSON server.

The SDK is pointed at a FakeServer with `http_options={"base_url": fake.http_url}`, under
both API versions it can speak: "v1" (its default, our own routes) and "v1beta" (the
Generative Language flavour's). Answers are checked against what textgen.Client gets over
gRPC from the same emulator, and the journal shows each call reached the same servicer.
google-genai is installed in the latest leg only (requirements/interop.txt); this module
skips elsewhere.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

genai = pytest.importorskip(
    "google.genai", reason="google-genai is installed in the latest leg only (interop.txt)"
)
pytest.importorskip("aiohttp", reason="the emulator's HTTP server needs the `http` extra")

# Modules, so that mypy reads them alike with and without google-genai installed.
types = pytest.importorskip("google.genai.types")
errors = pytest.importorskip("google.genai.errors")

import textgen  # noqa: E402
from textgen.testing import FakeServer, Progression  # noqa: E402

README_MARKER = "# google-genai against the emulator"
KEY = "genai-key"
MODEL = "gemini-1.5-flash"
EMBEDDER = "text-embedding-004"
GL = "google.ai.generativelanguage.v1beta"
# The SDK's own warnings: its tuning is experimental, and its aiohttp session subclasses one.
pytestmark = [
    pytest.mark.filterwarnings("ignore::google.genai.errors.ExperimentalWarning"),
    pytest.mark.filterwarnings("ignore:Inheritance class AiohttpClientSession:DeprecationWarning"),
]
PATHS = {
    "v1": "/textgen.v1.ModelService/GenerateContent",
    "v1beta": f"/{GL}.GenerativeService/GenerateContent",
}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeServer]:
    emulator = FakeServer(http=True, api_keys={KEY: "me"}, progression=Progression.immediate())
    with emulator as running:
        yield running


@pytest.fixture(params=["v1", "v1beta"])
def version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def client(fake: FakeServer, version: str) -> Any:  # a google.genai.Client
    fake.reset()
    options = {"base_url": fake.http_url, "api_version": version}
    return genai.Client(api_key=KEY, http_options=options)


@pytest.fixture
def ours(fake: FakeServer) -> Iterator[textgen.Client]:
    with textgen.Client(fake.target, api_key=KEY) as grpc_client:
        yield grpc_client


def test_generate_content_from_a_string(
    client: Any, fake: FakeServer, ours: textgen.Client, version: str
) -> None:
    reply = client.models.generate_content(model=MODEL, contents="Write a haiku")
    expected = ours.models.generate_content(f"models/{MODEL}", "Write a haiku").text
    assert reply.text == expected
    assert reply.candidates[0].finish_reason == types.FinishReason.STOP
    assert reply.usage_metadata.prompt_token_count > 0
    assert fake.journal.calls("GenerateContent")[0].path == PATHS[version]


def test_generate_content_from_a_list_of_parts(client: Any, fake: FakeServer) -> None:
    parts = [types.Part.from_text(text="first"), types.Part.from_text(text="second")]
    assert client.models.generate_content(model=MODEL, contents=parts).text
    request = fake.journal.last("GenerateContent").request
    assert [part.text for part in request.contents[0].parts] == ["first", "second"]


def test_a_system_instruction_shapes_the_answer(client: Any) -> None:
    config = types.GenerateContentConfig(system_instruction="respond: pong")
    assert client.models.generate_content(model=MODEL, contents="ping", config=config).text == (
        "pong"
    )


@pytest.mark.parametrize("schema_kind", ["response_schema", "response_json_schema"])
def test_a_json_schema_gives_json_that_follows_it(client: Any, schema_kind: str) -> None:
    if schema_kind == "response_schema":
        config = types.GenerateContentConfig(
            response_mime_type="application/json",
            response_schema={
                "type": "OBJECT",
                "properties": {"count": {"type": "INTEGER"}, "name": {"type": "STRING"}},
                "required": ["count", "name"],
            },
        )
    else:
        config = types.GenerateContentConfig(
            response_mime_type="application/json",
            response_json_schema={
                "type": "object",
                "properties": {"count": {"type": "integer"}, "name": {"type": "string"}},
                "required": ["count", "name"],
            },
        )
    reply = client.models.generate_content(model=MODEL, contents="Give one", config=config)
    answer = json.loads(reply.text)
    assert isinstance(answer["count"], int)
    assert isinstance(answer["name"], str)


def test_safety_settings_reach_the_server(client: Any) -> None:
    prompt = "Tell me unsafe:dangerous_content:low"
    lenient = client.models.generate_content(model=MODEL, contents=prompt)
    assert lenient.prompt_feedback is None or lenient.prompt_feedback.block_reason is None
    strict = types.GenerateContentConfig(
        safety_settings=[
            types.SafetySetting(
                category=types.HarmCategory.HARM_CATEGORY_DANGEROUS_CONTENT,
                threshold=types.HarmBlockThreshold.BLOCK_LOW_AND_ABOVE,
            )
        ]
    )
    blocked = client.models.generate_content(model=MODEL, contents=prompt, config=strict)
    assert blocked.prompt_feedback.block_reason == types.BlockedReason.SAFETY
    assert not blocked.candidates


def test_function_calling_runs_the_function_automatically(client: Any, fake: FakeServer) -> None:
    calls: list[tuple[float, float]] = []

    def multiply(a: float, b: float) -> float:
        """Multiply two numbers."""
        calls.append((a, b))
        return a * b

    config = types.GenerateContentConfig(tools=[multiply])
    reply = client.models.generate_content(
        model=MODEL, contents="What is multiply of 6 and 7?", config=config
    )
    assert calls == [(6, 7)]
    assert "42" in reply.text
    # The SDK sent the function's result back in a second call.
    fake.journal.assert_called("GenerateContent", times=2)
    last = fake.journal.last("GenerateContent").request
    assert last.contents[-1].parts[0].function_response.name == "multiply"


def test_generate_content_stream_arrives_in_pieces(
    client: Any, fake: FakeServer, version: str
) -> None:
    pieces = [
        chunk.text
        for chunk in client.models.generate_content_stream(model=MODEL, contents="Tell me a story")
    ]
    whole = client.models.generate_content(model=MODEL, contents="Tell me a story").text
    assert len(pieces) > 1
    assert "".join(pieces) == whole
    stream_path = PATHS[version].replace("GenerateContent", "StreamGenerateContent")
    assert fake.journal.last("StreamGenerateContent").path == stream_path


def test_count_tokens(client: Any, ours: textgen.Client) -> None:
    counted = client.models.count_tokens(model=MODEL, contents="How many tokens is this?")
    expected = ours.models.count_tokens(f"models/{MODEL}", "How many tokens is this?")
    assert counted.total_tokens == expected > 0


def test_embed_content_for_one_and_several_inputs(
    client: Any, fake: FakeServer, ours: textgen.Client
) -> None:
    [one] = client.models.embed_content(model=EMBEDDER, contents="hello").embeddings
    several = client.models.embed_content(model=EMBEDDER, contents=["hello", "world"]).embeddings
    assert len(several) == 2
    assert several[0].values == pytest.approx(one.values)
    assert several[0].values != pytest.approx(several[1].values)
    expected = ours.models.embed_content(f"models/{EMBEDDER}", "hello")
    assert one.values == pytest.approx(list(expected))
    # The SDK always asks with the batch form.
    fake.journal.assert_called("BatchEmbedContents", times=2)


def test_models_list_and_get(client: Any, ours: textgen.Client) -> None:
    listed = [model.name for model in client.models.list()]
    assert listed == [model.name for model in ours.models.list()]
    got = client.models.get(model=MODEL)
    assert got.name == f"models/{MODEL}"
    assert got.input_token_limit == ours.models.get(f"models/{MODEL}").input_token_limit


def test_the_chats_helper_keeps_the_conversation(client: Any, fake: FakeServer) -> None:
    chat = client.chats.create(model=MODEL)
    assert chat.send_message("I have two dogs in my house.").text
    assert chat.send_message("How many paws are in my house?").text
    assert len(chat.get_history()) == 4
    request = fake.journal.last("GenerateContent").request
    assert [content.role for content in request.contents] == ["user", "model", "user"]


def test_a_refused_request_raises_the_sdks_client_error(client: Any) -> None:
    # response_modalities is an upstream field this contract does not model.
    config = types.GenerateContentConfig(response_modalities=["TEXT"])
    with pytest.raises(errors.ClientError) as raised:
        client.models.generate_content(model=MODEL, contents="hi", config=config)
    assert raised.value.code == 400
    assert raised.value.status == "INVALID_ARGUMENT"
    assert "generationConfig.responseModalities" in raised.value.message
    [bad_request, _] = raised.value.details["error"]["details"]
    assert bad_request["@type"] == "type.googleapis.com/google.rpc.BadRequest"


def test_a_wrong_key_is_unauthenticated(fake: FakeServer) -> None:
    stranger = genai.Client(api_key="wrong", http_options={"base_url": fake.http_url})
    with pytest.raises(errors.ClientError) as raised:
        stranger.models.generate_content(model=MODEL, contents="hi")
    assert raised.value.code == 401
    assert raised.value.status == "UNAUTHENTICATED"


def test_a_missing_model_is_not_found(client: Any) -> None:
    with pytest.raises(errors.ClientError) as raised:
        client.models.get(model="no-such-model")
    assert raised.value.code == 404
    assert raised.value.status == "NOT_FOUND"


async def test_the_async_forms(client: Any, fake: FakeServer) -> None:
    aio = client.aio
    reply = await aio.models.generate_content(model=MODEL, contents="Hello")
    pieces = [
        c.text
        async for c in await aio.models.generate_content_stream(model=MODEL, contents="Hello")
    ]
    assert "".join(pieces) == reply.text
    counted = await aio.models.count_tokens(model=MODEL, contents="Hello")
    assert counted.total_tokens > 0
    embedded = await aio.models.embed_content(model=EMBEDDER, contents=["x", "y"])
    assert len(embedded.embeddings) == 2
    listed = [model.name async for model in await aio.models.list()]
    assert f"models/{MODEL}" in listed
    assert (await aio.models.get(model=MODEL)).name == f"models/{MODEL}"
    chat = aio.chats.create(model=MODEL)
    assert (await chat.send_message("hi")).text
    assert (await chat.send_message("again")).text
    assert len(chat.get_history()) == 4


# --- tuning -------------------------------------------------------------------------------


def test_tunings_tune_sends_no_training_examples(client: Any, fake: FakeServer) -> None:
    """google-genai cannot express a tuning job this contract accepts: its Gemini API
    converter (`_TuningDataset_to_mldev`) writes the examples into a dictionary it then drops,
    so the POST to tunedModels carries the base model, display name and hyperparameters but no
    `tuningTask.trainingData`, which a tuning job requires."""
    dataset = types.TuningDataset(
        examples=[
            types.TuningExample(text_input="I", output="II"),
            types.TuningExample(text_input="II", output="III"),
        ]
    )
    config = types.CreateTuningJobConfig(epoch_count=1, tuned_model_display_name="roman")
    with pytest.raises(errors.ClientError) as raised:
        client.tunings.tune(
            base_model="models/gemini-1.0-pro-001", training_dataset=dataset, config=config
        )
    assert raised.value.code == 400
    assert "tuned_model.tuning_task.training_data" in raised.value.message
    sent = fake.journal.last("CreateTunedModel").request.tuned_model
    assert sent.base_model == "models/gemini-1.0-pro-001"
    assert sent.display_name == "roman"
    assert sent.tuning_task.hyperparameters.epoch_count == 1
    assert not sent.tuning_task.HasField("training_data")


def test_tunings_get_reads_a_model_tuned_over_grpc(client: Any, ours: textgen.Client) -> None:
    operation = ours.tuned_models.create(
        "models/gemini-1.0-pro-001", [("I", "II"), ("II", "III")], epoch_count=1
    )
    tuned = operation.result()
    job = client.tunings.get(name=tuned.name)
    assert job.name == tuned.name
    assert job.state == types.JobState.JOB_STATE_SUCCEEDED
    assert job.tuned_model is not None
    assert job.tuned_model.model == tuned.name


def test_the_readme_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    readme = Path(__file__).resolve().parents[2] / "README.md"
    blocks = re.findall(r"^```py\n(.*?)^```", readme.read_text(), flags=re.S | re.M)
    [example] = [block for block in blocks if block.startswith(README_MARKER)]
    exec(compile(example, "README.md (google-genai)", "exec"), {"__name__": "readme"})
    printed = capsys.readouterr().out.splitlines()
    assert printed[-1].startswith("['models/")
    assert printed[-2] == "2"
