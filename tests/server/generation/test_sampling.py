"""sampling_params: a request that sets no sampling field gets the model's defaults, one that
sets any is read and checked field by field."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from textgen.v1 import generation_pb2, model_pb2, model_service_pb2, text_pb2

from textgen.server.engine import SamplingParams
from textgen.server.generation.resolution import ResolvedModel
from textgen.server.generation.sampling import (
    FALLBACK_TEMPERATURE,
    FALLBACK_TOP_P,
    TEXT_MIME_TYPE,
    sampling_params,
)
from textgen.server.rpc.errors import ServiceError


def _resolved(**settings: Any) -> ResolvedModel:
    base = model_pb2.Model(name="models/m", output_token_limit=64, **settings)
    return ResolvedModel(name=base.name, base=base)


def _text_request(**fields: Any) -> model_service_pb2.GenerateTextRequest:
    return model_service_pb2.GenerateTextRequest(
        model="models/m", prompt=text_pb2.TextPrompt(text="hi"), **fields
    )


def test_a_request_without_sampling_fields_gets_the_models_defaults() -> None:
    resolved = _resolved(temperature=0.25, top_p=0.75, top_k=7)
    expected = SamplingParams(
        temperature=0.25,
        top_p=0.75,
        top_k=7,
        candidate_count=1,
        max_output_tokens=64,
        response_mime_type=TEXT_MIME_TYPE,
    )
    assert sampling_params(resolved, _text_request()) == expected
    assert sampling_params(resolved, _text_request()) == expected  # answered again
    assert sampling_params(resolved, None) == expected


def test_a_model_without_settings_falls_back() -> None:
    found = sampling_params(_resolved(), generation_pb2.GenerationConfig(), content=True)
    assert (found.temperature, found.top_p, found.top_k) == (
        FALLBACK_TEMPERATURE,
        FALLBACK_TOP_P,
        None,
    )
    assert found.max_output_tokens == 64


def test_each_model_keeps_its_own_defaults() -> None:
    first, second = _resolved(temperature=0.1), _resolved(temperature=0.2)
    assert sampling_params(first, _text_request()).temperature == pytest.approx(0.1)
    assert sampling_params(second, _text_request()).temperature == pytest.approx(0.2)


def test_a_request_that_sets_a_field_is_read_and_checked() -> None:
    resolved = _resolved(temperature=0.3)
    found = sampling_params(resolved, _text_request(temperature=0.5, candidate_count=2))
    assert (found.temperature, found.candidate_count) == (0.5, 2)
    with pytest.raises(ServiceError) as raised:
        sampling_params(resolved, _text_request(max_output_tokens=65))
    assert raised.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "output_token_limit (64)" in str(raised.value.status)


def test_the_vertex_text_settings_reach_the_engine() -> None:
    request = _text_request(
        presence_penalty=0.5,
        frequency_penalty=-1.5,
        logprobs=3,
        logit_bias={"the": -100.0, "cat": 2.5},
        seed=42,
    )
    params = sampling_params(_resolved(), request)
    assert (params.presence_penalty, params.frequency_penalty) == (0.5, -1.5)
    assert params.logprobs == 3  # GenerateTextRequest has no response_logprobs: logprobs asks
    assert params.logit_bias == (("cat", 2.5), ("the", -100.0))  # sorted by token
    assert dict(params.logit_bias)["the"] == -100.0
    assert params.seed == 42


def test_the_vertex_text_settings_default_to_none_of_their_effects() -> None:
    params = sampling_params(_resolved(), _text_request(temperature=0.5))
    assert (params.presence_penalty, params.frequency_penalty) == (0.0, 0.0)
    assert params.logprobs is None and params.logit_bias == () and params.seed is None
    # logprobs=0 asks for the chosen tokens only, which differs from not asking.
    assert sampling_params(_resolved(), _text_request(logprobs=0)).logprobs == 0


def test_generation_config_penalties_reach_the_engine_and_logprobs_still_need_asking() -> None:
    config = generation_pb2.GenerationConfig(
        presence_penalty=1.0, frequency_penalty=0.5, logprobs=4
    )
    params = sampling_params(_resolved(), config, prefix="generation_config", content=True)
    assert (params.presence_penalty, params.frequency_penalty) == (1.0, 0.5)
    assert params.logprobs is None  # response_logprobs is unset
    config.response_logprobs = True
    assert sampling_params(_resolved(), config, content=True).logprobs == 4
