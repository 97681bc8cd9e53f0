"""Stage the googleapis .proto files that our contract imports into one include directory.

The googleapis-common-protos wheel ships the long-running operations file as
``google/longrunning/operations_proto.proto``; protoc, buf and proto-loader all expect it at
its canonical path ``google/longrunning/operations.proto``, so it is copied under that name.
Nothing staged here is committed: the directory is rebuilt from the installed package.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import google.api

# Packages whose .proto files our contract imports, directly or through another import.
_PACKAGES = ("api", "rpc", "longrunning", "type")
_RENAMES = {"longrunning/operations_proto.proto": "longrunning/operations.proto"}


def stage(dest: Path) -> None:
    """Copy the googleapis protos into ``dest/google/...``, replacing what was there."""
    google_root = Path(next(iter(google.api.__path__))).parent
    out = dest / "google"
    if out.exists():
        shutil.rmtree(out)
    for package in _PACKAGES:
        for src in sorted((google_root / package).rglob("*.proto")):
            rel = src.relative_to(google_root).as_posix()
            target = out / _RENAMES.get(rel, rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, target)


if __name__ == "__main__":
    stage(Path(sys.argv[1]))
