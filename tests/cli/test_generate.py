"""`textgen generate` and `textgen stream` against the fake server."""

from __future__ import annotations

import json

from tests.cli.conftest import Cli
from textgen.testing import FakeServer


def test_generate_content_model_prints_the_answer(cli: Cli, fake: FakeServer) -> None:
    result = cli("generate", "gemini-1.5-flash", "Write a haiku about the sea")
    assert result.status == 0
    assert result.out.strip()
    assert result.err == ""
    fake.journal.assert_called("GenerateContent", times=1)


def test_generate_text_model_uses_generate_text(cli: Cli, fake: FakeServer) -> None:
    result = cli("generate", "text-bison-001", "Write a haiku", "--stop", ".")
    assert result.status == 0
    assert "." not in result.out
    fake.journal.assert_called("GenerateText", times=1)
    assert fake.journal.last("GenerateText").request.stop_sequences == ["."]


def test_generate_chat_model_uses_generate_message(cli: Cli, fake: FakeServer) -> None:
    assert cli("generate", "chat-bison-001", "Hello there").status == 0
    fake.journal.assert_called("GenerateMessage", times=1)


def test_generate_sampling_options_reach_the_request(cli: Cli, fake: FakeServer) -> None:
    result = cli(
        "generate", "gemini-1.5-flash", "Hi", "--temperature", "0.2", "--max-output-tokens", "7",
        "--top-p", "0.5", "--top-k", "3",
    )  # fmt: skip
    assert result.status == 0
    config = fake.journal.last("GenerateContent").request.generation_config
    assert round(config.temperature, 3) == 0.2
    assert (config.max_output_tokens, config.top_k) == (7, 3)


def test_generate_several_candidates_are_numbered(cli: Cli) -> None:
    result = cli("generate", "text-bison-001", "Write", "--candidate-count", "2")
    assert result.status == 0
    assert "candidate 1:" in result.out
    assert "candidate 2:" in result.out


def test_generate_json(cli: Cli) -> None:
    result = cli("--json", "generate", "text-bison-001", "Write a haiku")
    assert result.status == 0
    data = result.json()
    assert data["model"] == "models/text-bison-001"
    assert data["api"] == "text"
    assert data["text"] == data["candidates"][0] == data["response"]["candidates"][0]["output"]


def test_global_options_also_work_after_the_command(cli: Cli) -> None:
    result = cli("generate", "gemini-1.5-flash", "Hi", "--json")
    assert result.json()["api"] == "content"


def test_api_option_skips_the_model_lookup(cli: Cli, fake: FakeServer) -> None:
    assert cli("generate", "text-bison-001", "Hi", "--api", "text").status == 0
    fake.journal.assert_called("GetModel", times=0)


def test_stream_prints_every_chunk_in_order(cli: Cli, fake: FakeServer) -> None:
    chunks = cli("--json", "stream", "gemini-1.5-flash", "Tell me a story")
    assert chunks.status == 0
    pieces = [line for line in chunks.out.splitlines() if line]
    assert len(pieces) > 1
    texts = [__import__("json").loads(line)["text"] for line in pieces]
    plain = cli("stream", "gemini-1.5-flash", "Tell me a story")
    assert plain.status == 0
    assert plain.out == "".join(texts) + "\n"


def test_stream_text_model(cli: Cli, fake: FakeServer) -> None:
    assert cli("stream", "text-bison-001", "Tell me a story").status == 0
    fake.journal.assert_called("StreamGenerateText", times=1)


def test_stream_of_a_chat_model_is_a_usage_error(cli: Cli) -> None:
    result = cli("stream", "chat-bison-001", "Hello")
    assert result.status == 2
    assert "do not stream" in result.err


def test_stream_prints_every_candidate(cli: Cli) -> None:
    argv = ("stream", "gemini-1.5-flash", "Tell me a story", "--candidate-count", "2")
    whole = cli("--json", "generate", *argv[1:]).json()["candidates"]
    result = cli(*argv)
    assert result.status == 0
    assert result.out == f"candidate 1:\n{whole[0]}\ncandidate 2:\n{whole[1]}\n"
    pieces = [json.loads(line) for line in cli("--json", *argv).out.splitlines()]
    for number in (1, 2):
        text = "".join(piece["text"] for piece in pieces if piece["candidate"] == number)
        assert text == whole[number - 1]


def test_stream_text_model_prints_every_candidate(cli: Cli) -> None:
    result = cli("stream", "text-bison-001", "Tell me a story", "--candidate-count", "3")
    assert [line for line in result.out.splitlines() if line.startswith("candidate")] == [
        "candidate 1:",
        "candidate 2:",
        "candidate 3:",
    ]
