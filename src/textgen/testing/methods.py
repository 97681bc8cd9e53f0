"""RPC methods as the FakeServer's journal and faults see them: full names.

`full_name("GenerateText")` answers "/textgen.v1.ModelService/GenerateText"; "ModelService/
GenerateText" and full names work too, and a name starting with "/" that the contract does not
know (such as "/grpc.health.v1.Health/Check") is taken as it is.
"""

from __future__ import annotations

import functools

from google.longrunning import operations_proto_pb2

from textgen import contract


@functools.cache
def _index() -> dict[str, str | None]:
    services = [*contract.services()]
    services.append(operations_proto_pb2.DESCRIPTOR.services_by_name["Operations"])
    index: dict[str, str | None] = {}
    for service in services:
        for method in service.methods:
            full = f"/{service.full_name}/{method.name}"
            for alias in (full, full[1:], f"{service.name}/{method.name}"):
                index[alias] = full
            # A short name two services share is ambiguous: None marks it.
            index[method.name] = None if method.name in index else full
    return index


def full_name(method: str) -> str:
    """The full method name ("/package.Service/Method") for a short or full one."""
    found = _index().get(method, "")
    if found:
        return found
    if found is None:
        raise ValueError(f"method name {method!r} is ambiguous: use 'Service/{method}'")
    if method.startswith("/"):
        return method
    raise ValueError(f"unknown method {method!r}: use a contract method or a '/full/Name'")
