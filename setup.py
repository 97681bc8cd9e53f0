"""Package discovery for the two source roots; everything else is in pyproject.toml.

The hand-written packages live under src/, the generated textgen.v1 under generated/, and the
contract's .proto files under protos/. pyproject.toml alone cannot discover packages in two
roots that share the top-level name `textgen`, so the discovery runs here: a new subpackage in
either root is packaged without editing a list.
"""

from setuptools import find_namespace_packages, find_packages, setup

GENERATED = find_namespace_packages("generated", include=["textgen.*"])
# Data-only packages: the folders of .proto files below textgen/protos.
PROTOS = [
    "textgen.protos",
    *(
        f"textgen.protos.{name}"
        for name in find_namespace_packages("protos", include=["textgen", "textgen.*"])
    ),
]

setup(
    packages=[*find_packages("src"), *GENERATED, *PROTOS],
    package_data={name: ["*.proto"] for name in PROTOS},
    package_dir={
        "": "src",
        **{name: "generated/" + name.replace(".", "/") for name in GENERATED},
        # The contract ships as data: site-packages/textgen/protos is an include root for
        # protoc (`textgen.contract.proto_path()` finds it).
        "textgen.protos": "protos",
    },
)
