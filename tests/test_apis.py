"""textgen.apis: the flavour table maps the upstream methods onto ours, read from our
descriptors, and names our operation payload types in each flavour's package."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from textgen.v1 import tuned_model_pb2, tuned_model_service_pb2

from textgen import apis
from textgen.apis import GENERATIVE_LANGUAGE_API, TEXTGEN_API

GL = "google.ai.generativelanguage.v1beta"
REFERENCE = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "reference"
    / "generative-language-v1beta-wire.md"
)
# The upstream methods of the served services that this project does not offer.
NOT_OFFERED = {f"{GL}.GenerativeService": {"GenerateAnswer", "BidiGenerateContent"}}


def offered() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for method in GENERATIVE_LANGUAGE_API.methods():
        service, name = method.path[1:].split("/")
        found.setdefault(service, set()).add(name)
    return found


def test_each_upstream_method_is_one_of_ours_of_the_same_name() -> None:
    for method in GENERATIVE_LANGUAGE_API.methods():
        assert method.path.rsplit("/", 1)[1] == method.canonical.rsplit("/", 1)[1]
        assert method.canonical == (
            f"/{method.descriptor.containing_service.full_name}/{method.descriptor.name}"
        )


def test_the_generative_language_methods_the_issue_lists() -> None:
    assert offered() == {
        f"{GL}.GenerativeService": {
            "GenerateContent",
            "StreamGenerateContent",
            "CountTokens",
            "EmbedContent",
            "BatchEmbedContents",
        },
        f"{GL}.ModelService": {
            "GetModel",
            "ListModels",
            "CreateTunedModel",
            "GetTunedModel",
            "ListTunedModels",
            "UpdateTunedModel",
            "DeleteTunedModel",
        },
        f"{GL}.TextService": {"GenerateText", "CountTextTokens", "EmbedText", "BatchEmbedText"},
        f"{GL}.DiscussService": {"GenerateMessage", "CountMessageTokens"},
        # Shared as it is; the official clients poll, so WaitOperation is not in this API.
        "google.longrunning.Operations": {
            "GetOperation",
            "ListOperations",
            "CancelOperation",
            "DeleteOperation",
        },
    }


def test_the_table_matches_the_shared_reference() -> None:
    """Every RPC of the reference's service layout is offered, or listed as not offered."""
    if not REFERENCE.is_file():
        pytest.skip("../shared/reference is not beside the checkout")
    layout = REFERENCE.read_text().split("## 1. Service layout", 1)[1].split("\n\n", 2)[1]
    rows = re.findall(r"^\| `([\w.]+)`[^|]*\| ([^|]+) \|$", layout, flags=re.M)
    reference = {
        (name if "." in name else f"{GL}.{name}"): {rpc.split()[0] for rpc in rpcs.split(", ")}
        for name, rpcs in rows
    }
    assert len(reference) == 5
    ours = offered()
    assert set(reference) == set(ours)
    for service, rpcs in reference.items():
        assert rpcs - ours[service] == NOT_OFFERED.get(service, set()), service
        assert ours[service] <= rpcs, service


def test_upstream_services_are_those_not_ours() -> None:
    assert GENERATIVE_LANGUAGE_API.upstream_services() == (
        f"{GL}.GenerativeService",
        f"{GL}.TextService",
        f"{GL}.DiscussService",
        f"{GL}.ModelService",
    )
    assert TEXTGEN_API.upstream_services() == ()


def test_shared_services_are_those_of_the_shared_paths() -> None:
    # Read from the table alone, they name the same services as the methods' paths do.
    for api in apis.APIS.values():
        from_paths = tuple(dict.fromkeys(path.split("/")[1] for path in api.shared_paths()))
        assert api.shared_services() == from_paths, api.name
    assert GENERATIVE_LANGUAGE_API.shared_services() == ("google.longrunning.Operations",)


def test_operation_payloads_are_named_in_the_flavour_package() -> None:
    tuned = tuned_model_pb2.TunedModel.DESCRIPTOR.full_name
    metadata = tuned_model_service_pb2.CreateTunedModelMetadata.DESCRIPTOR.full_name
    assert GENERATIVE_LANGUAGE_API.type_name(tuned) == f"{GL}.TunedModel"
    assert GENERATIVE_LANGUAGE_API.type_name(metadata) == f"{GL}.CreateTunedModelMetadata"
    assert apis.type_url(apis.GENERATIVE_LANGUAGE, tuned) == (
        f"type.googleapis.com/{GL}.TunedModel"
    )
    # Only long-running payloads are renamed; our own flavour renames nothing.
    assert GENERATIVE_LANGUAGE_API.type_name("textgen.v1.Model") == "textgen.v1.Model"
    assert apis.type_url(apis.TEXTGEN, tuned) == f"type.googleapis.com/{tuned}"


def test_canonical_type_names_undo_the_renames() -> None:
    assert apis.canonical_type_name(f"{GL}.TunedModel") == "textgen.v1.TunedModel"
    assert apis.canonical_type_name(f"{GL}.CreateTunedModelMetadata") == (
        "textgen.v1.CreateTunedModelMetadata"
    )
    assert apis.canonical_type_name(f"{GL}.Model") is None
    assert apis.canonical_type_name("textgen.v1.TunedModel") is None
    assert apis.canonical_type_name("google.rpc.BadRequest") is None


def test_a_flavour_is_found_by_name() -> None:
    assert apis.get("generativelanguage") is GENERATIVE_LANGUAGE_API
    with pytest.raises(ValueError, match=r"unknown API 'vertex'.*'textgen'"):
        apis.get("vertex")


def test_a_table_naming_a_missing_method_fails_when_read() -> None:
    broken = apis.Api(
        "broken", "x.v1", services=(apis.Alias("x.v1.S", "textgen.v1.ModelService", ("Nope",)),)
    )
    with pytest.raises(LookupError, match="has no method Nope"):
        broken.methods()
    missing = apis.Api("missing", "x.v1", services=(apis.Alias("x.v1.S", "textgen.v1.Nope"),))
    with pytest.raises(LookupError, match="not a service of the contract"):
        missing.methods()
