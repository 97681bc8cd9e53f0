"""Routes come from the contract's http rules, for every flavour served."""

from __future__ import annotations

from textgen.apis import APIS, GENERATIVE_LANGUAGE, TEXTGEN, YANDEX
from textgen.server.http.routes import http_rules, our_methods, routes_for

GL_MODELS = "/google.ai.generativelanguage.v1beta.GenerativeService"


def test_every_rule_and_additional_binding_of_ours_is_routed() -> None:
    table = routes_for([APIS[TEXTGEN]])
    expected = sum(len(http_rules(method)) for method in our_methods())
    assert len(table.routes) == expected > 30
    assert {route.verb for route in table.routes} == {"GET", "POST", "PATCH", "DELETE"}


def test_additional_bindings_reach_the_same_method() -> None:
    table = routes_for([APIS[TEXTGEN]])
    base = table.match("POST", "/v1/models/m:generateContent")
    tuned = table.match("POST", "/v1/tunedModels/t:generateContent")
    assert base is not None and tuned is not None
    assert base[0].path == tuned[0].path == "/textgen.v1.ModelService/GenerateContent"
    assert tuned[1] == {"model": "tunedModels/t"}


def test_the_generative_language_flavour_answers_under_v1beta_by_its_own_paths() -> None:
    table = routes_for([APIS[GENERATIVE_LANGUAGE]])
    found = table.match("POST", "/v1beta/models/m:streamGenerateContent")
    assert found is not None
    route, bound = found
    assert route.path == f"{GL_MODELS}/StreamGenerateContent"
    assert route.streaming
    assert bound == {"model": "models/m"}
    # Only the methods its table lists: datasets are ours alone.
    assert table.match("GET", "/v1beta/datasets") is None
    assert table.match("POST", "/v1/models/m:generateContent") is None
    assert table.match("GET", "/v1beta/operations/abc") is not None


def test_flavours_without_rules_add_no_routes() -> None:
    assert routes_for([APIS[YANDEX]]).routes == ()


def test_body_fields_and_verbs_come_from_the_rule() -> None:
    table = routes_for(APIS.values())
    create = table.match("POST", "/v1/tunedModels")
    assert create is not None and create[0].body == "tuned_model"
    update = table.match("PATCH", "/v1beta/tunedModels/t1")
    assert update is not None
    assert update[0].body == "tuned_model"
    assert update[1] == {"tuned_model.name": "tunedModels/t1"}
    assert table.allows("/v1/tunedModels/t1") == ["GET", "PATCH", "DELETE"]
