"""Resource names: the kinds agree with the contract's annotations, and the helpers build,
take apart and check names as the servicers need."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import pytest
from google.api import resource_pb2
from google.protobuf import descriptor
from textgen.v1 import dataset_pb2, model_pb2, tuned_model_pb2

from textgen import contract
from textgen.server import names
from textgen.server.names import DATASET, MODEL, TUNED_MODEL, ResourceKind


def annotation(message: descriptor.Descriptor) -> resource_pb2.ResourceDescriptor:
    # The stubs type extensions as plain field descriptors (see textgen.contract).
    extensions = cast("Mapping[descriptor.FieldDescriptor, Any]", message.GetOptions().Extensions)
    found = resource_pb2.ResourceDescriptor()
    found.CopyFrom(extensions[resource_pb2.resource])
    return found


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        (MODEL, model_pb2.Model.DESCRIPTOR),
        (TUNED_MODEL, tuned_model_pb2.TunedModel.DESCRIPTOR),
        (DATASET, dataset_pb2.Dataset.DESCRIPTOR),
    ],
)
def test_each_kind_is_the_contracts(kind: ResourceKind, message: descriptor.Descriptor) -> None:
    declared = annotation(message)
    assert (kind.type, [kind.pattern]) == (declared.type, list(declared.pattern))


def test_the_operation_type_is_the_contracts() -> None:
    assert names.OPERATION_TYPE == contract.OPERATION


def test_names_are_built_and_taken_apart() -> None:
    assert TUNED_MODEL.name("my-model") == "tunedModels/my-model"
    assert DATASET.id_of("datasets/prompts") == "prompts"
    assert TUNED_MODEL.in_collection("tunedModels/x")
    assert not TUNED_MODEL.in_collection("models/x")
    assert names.batch_operation_name("abc") == "operations/abc"
    assert names.tuning_operation_name("tunedModels/t", "op") == "tunedModels/t/operations/op"


@pytest.mark.parametrize(
    ("kind", "longest"), [(TUNED_MODEL, names.TUNED_MODEL_ID_MAX), (DATASET, names.DATASET_ID_MAX)]
)
def test_chosen_ids_have_a_syntax_and_a_length_limit(kind: ResourceKind, longest: int) -> None:
    assert kind.is_valid_id("a" * longest)
    assert not kind.is_valid_id("a" * (longest + 1))
    for bad in ("", "Upper", "9starts-with-a-digit", "ends-with-", "under_score"):
        assert not kind.is_valid_id(bad), bad


def test_name_violations_say_what_fits() -> None:
    assert names.model_name_violations("models/text-bison-001") == []
    assert names.model_name_violations("tunedModels/mine") == []
    [tuned_refused] = names.model_name_violations("tunedModels/mine", tuned=False)
    assert tuned_refused.field == "model"
    [violation] = names.name_violations("datasets/", "name", DATASET)
    assert (violation.field, violation.description) == (
        "name",
        "must be `datasets/{dataset}`, got 'datasets/'",
    )
    [either] = names.model_name_violations("gemini", "model_uri")
    assert either.description == (
        "must be `models/{model}` or `tunedModels/{tuned_model}`, got 'gemini'"
    )
