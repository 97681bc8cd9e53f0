"""Run every benchmark in bench/ (files named bench_*.py, each with a main()) and print ratios."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def main() -> int:
    """Run the benchmarks named on the command line, or all of them."""
    here = Path(__file__).parent
    wanted = set(sys.argv[1:])
    for path in sorted(here.glob("bench_*.py")):
        if wanted and path.stem not in wanted:
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        print(f"== {path.stem}")
        module.main()
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
