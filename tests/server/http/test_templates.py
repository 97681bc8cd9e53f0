"""Path templates of google.api.http rules: what each matches and binds."""

from __future__ import annotations

import pytest

from textgen.server.http.templates import TemplateError, compile_template


def test_a_variable_with_a_pattern_binds_the_matched_segments() -> None:
    template = compile_template("/v1/{model=models/*}:generateContent")
    assert template.fields == ("model",)
    assert template.match("/v1/models/gemini-1.5-flash:generateContent") == {
        "model": "models/gemini-1.5-flash"
    }
    assert template.match("/v1/tunedModels/x:generateContent") is None
    assert template.match("/v1/models/a/b:generateContent") is None
    assert template.match("/v1/models/x:countTokens") is None


def test_a_double_wildcard_spans_segments() -> None:
    template = compile_template("/v1/{name=operations/**}")
    assert template.match("/v1/operations/a/b/c") == {"name": "operations/a/b/c"}
    assert template.match("/v1/operations") is None


def test_a_verb_after_a_double_wildcard() -> None:
    template = compile_template("/v1/{name=operations/**}:cancel")
    assert template.match("/v1/operations/abc:cancel") == {"name": "operations/abc"}
    assert template.match("/v1/operations/abc") is None


def test_a_dotted_field_path_and_a_bare_variable() -> None:
    template = compile_template("/v1/{tuned_model.name=tunedModels/*}")
    assert template.match("/v1/tunedModels/t1") == {"tuned_model.name": "tunedModels/t1"}
    bare = compile_template("/v1/things/{thing}/parts")
    assert bare.match("/v1/things/a%2Fb/parts") == {"thing": "a/b"}


def test_literal_templates_match_only_themselves() -> None:
    template = compile_template("/v1/models")
    assert template.match("/v1/models") == {}
    assert template.match("/v1/models/") is None
    assert template.match("/v1/modelsx") is None


@pytest.mark.parametrize(
    "text", ["v1/models", "/v1/{model=models/*", "/v1/{=x}", "/v1/a{model}", "/v1/"]
)
def test_text_outside_the_grammar_is_refused(text: str) -> None:
    with pytest.raises(TemplateError):
        compile_template(text)
