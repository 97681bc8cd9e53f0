# Every target builds what it needs: a project-local virtualenv (.venv) pinned by
# requirements/constraints.txt, and buf from npm under tools/node. A fresh clone needs only
# python3 (3.10+), make, and Node.js with npm; the PostgreSQL tests also need initdb and
# pg_ctl (Debian's postgresql package: `make postgres` installs it), and skip without them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEPS := .build/protodeps
NODE_DIR := tools/node
BUF := $(NODE_DIR)/node_modules/.bin/buf
BASE ?= main
DIST := .build/dist

.PHONY: venv protodeps generate check-generated lint typecheck pytest test demo bench breaking clean \
	wheel matrix postgres

venv: $(STAMP)

$(STAMP): pyproject.toml setup.py requirements/constraints.txt
	@echo "== Setting up $(VENV): textgen-grpc (editable) with its dev, server, cli and postgres extras,"
	@echo "== at the versions in requirements/constraints.txt. The first run downloads about"
	@echo "== 60 packages; later runs reuse them."
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	set -o pipefail; $(PY) -m pip install --disable-pip-version-check --progress-bar off \
	  -c requirements/constraints.txt -e '.[dev,server,cli,postgres]' \
	  2> >(grep -v '^WARNING: Location' >&2) | { grep -E '^(Collecting|Installing|Successfully)' || true; }
	touch $@

# `npm ci` installs exactly what package-lock.json records and never writes to it, so the
# tree stays clean; it fails if package.json and the lock disagree. The lock must list the
# optional binary packages of every platform (buf, typescript): a lock that lacks them is
# out of sync, and `npm install` would add them back, modifying the file. After changing
# package.json, refresh the lock with `rm -rf tools/node/node_modules` followed by
# `npm install --prefix tools/node`, and commit both files.
$(BUF): $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
	npm ci --prefix $(NODE_DIR) --no-audit --no-fund --loglevel=error
	touch $@

protodeps: $(STAMP)
	$(PY) tools/protodeps.py $(DEPS)

generate: protodeps
	rm -rf generated/textgen/v1
	$(PY) tools/generate.py generated $(DEPS)

check-generated: protodeps
	rm -rf .build/check-generated
	$(PY) tools/generate.py .build/check-generated $(DEPS)
	@diff -r -x __pycache__ generated .build/check-generated >/dev/null || { \
	  diff -r -x __pycache__ generated .build/check-generated | head -20; \
	  echo "generated/ is stale: run 'make generate' and commit the result"; exit 1; }
	@echo "generated/ is up to date"

lint: protodeps $(BUF)
	$(BUF) lint
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(STAMP)
	$(PY) -m mypy

pytest: protodeps $(BUF)
	$(PY) -m pytest -q

# Every check, as CI runs it: the static checks in .venv, then the suite from the built wheel
# on the floor dependencies (oldest Python) and the newest ones (newest Python), and the wheel
# smoke test, the three in parallel (tools/matrix.py).
test: postgres lint typecheck check-generated breaking-baseline typescript matrix

# initdb and pg_ctl for the throwaway PostgreSQL clusters of the tests (tests/pg_cluster.py):
# on PATH, or where Debian's postgresql package puts them; installed with apt-get when
# missing and this runs as root (CI does), otherwise the PostgreSQL tests skip.
postgres:
	@if command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  echo "postgres: initdb found"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "postgres: installing the postgresql package"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	else \
	  echo "postgres: initdb is missing (install the postgresql package); its tests will skip"; \
	fi

# The sdist, and a wheel built from it, in .build/dist.
wheel: $(STAMP)
	rm -rf $(DIST)
	set -o pipefail; $(PY) -m build -q --outdir $(DIST) . 2>&1 \
	  | { grep -v -E '^(WARNING: Location|warning: (build_py|install_lib): byte-compiling)' || true; }

matrix: wheel protodeps $(BUF)
	$(PY) tools/matrix.py --wheel $(DIST)/textgen_grpc-*.whl

demo: $(STAMP)
	$(PY) -m textgen.demo

bench: $(STAMP)
	$(PY) bench/run.py

# Compares protos/ with the protos of git ref BASE (default: main) using buf's FILE rules.
breaking: protodeps $(BUF)
	BUF=$(BUF) bash tools/breaking.sh $(BASE)

clean:
	rm -rf $(VENV) .build build dist $(NODE_DIR)/node_modules .mypy_cache .ruff_cache
	find . -name __pycache__ -prune -exec rm -rf {} +

# The released contract, contract/textgen-v1.binpb, is a buf image of protos/ as of the last
# release. breaking-baseline checks protos/ against it with buf's FILE rules; contract-release
# rewrites it from protos/ (part of every release; commit the result).
.PHONY: breaking-baseline contract-release typescript

breaking-baseline: protodeps $(BUF)
	BUF=$(BUF) bash tools/contract_baseline.sh check

contract-release: protodeps $(BUF)
	BUF=$(BUF) bash tools/contract_baseline.sh release

# Generates TypeScript from protos/ with protoc-gen-es (buf.gen.yaml) into .build/ts and fails
# unless it compiles under tsc --strict --noEmit.
typescript: protodeps $(BUF)
	BUF=$(BUF) bash tools/typescript.sh
