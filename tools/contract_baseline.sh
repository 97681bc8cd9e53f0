#!/usr/bin/env bash
# The released contract as a buf image: contract/textgen-v1.binpb.
#
#   contract_baseline.sh check [ROOT]   buf breaking (FILE rules, from buf.yaml) of ROOT/protos
#                                       against the committed image; ROOT defaults to the repo.
#   contract_baseline.sh release        rewrites the image from protos/ (a release does this).
#
# The image holds the contract files plus everything they import (googleapis, well-known
# types), so it can be read on its own; a fresh clone needs only `make protodeps` for the
# current side. The comparison skips the imported files: only textgen/v1 is ours to keep
# compatible. Source info (comments, line numbers) is left out, so the image changes only
# when the schema does.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
buf=${BUF:-$repo/tools/node/node_modules/.bin/buf}
case $buf in /*) ;; *) buf=$repo/$buf ;; esac
baseline=$repo/contract/textgen-v1.binpb
rel_baseline=${baseline#"$repo"/}

check() {
  local root=${1:-$repo}
  if [[ ! -f $baseline ]]; then
    echo "no released contract at $rel_baseline: run 'make contract-release' and commit it" >&2
    exit 1
  fi
  # buf reads buf.yaml from the working directory: run it in the workspace being checked.
  # Compile first, so that a build error is not reported as a break (buf exits with 100
  # for both).
  if ! (cd "$root" && "$buf" build protos); then
    echo "protos/ does not build, so it cannot be compared with $rel_baseline" \
      "(are the googleapis imports staged? 'make protodeps' stages them)" >&2
    exit 1
  fi
  if (cd "$root" && "$buf" breaking protos --against "$baseline" --exclude-imports); then
    echo "protos/ is compatible with the released contract ($rel_baseline), by buf's FILE rules"
    return
  fi
  cat >&2 <<MSG

protos/ breaks the released contract ($rel_baseline); each line above is one break.
Code generated from the released protos, in any language, may stop working against it.
Either:
  - make the change compatible: add a new field, message or RPC next to the old one, and
    mark what it replaces as deprecated instead of removing, renumbering, renaming
    or retyping it (the FILE rules count even a reserved removal as a break); or
  - if the break is intended and every consumer has agreed, ship it in a release: run
    'make contract-release' and commit $rel_baseline together with the protos.
MSG
  exit 1
}

release() {
  cd "$repo"
  "$buf" lint
  fresh=$(mktemp "$repo/contract/.textgen-v1.XXXXXX")
  trap 'rm -f "$fresh"' EXIT
  "$buf" build protos --exclude-source-info -o "$fresh#format=binpb"
  if [[ -f $baseline ]] && cmp -s "$fresh" "$baseline"; then
    echo "$rel_baseline already matches protos/: nothing to release"
    return
  fi
  if [[ -f $baseline ]]; then
    local breaks
    breaks=$("$buf" breaking protos --against "$baseline" --exclude-imports 2>&1) || true
    if [[ -n $breaks ]]; then
      echo "note: this release breaks the previous one (list them in the release notes):"
      echo "$breaks"
    fi
  fi
  chmod 644 "$fresh"
  mv "$fresh" "$baseline"
  echo "wrote $rel_baseline from protos/: commit it with the release"
}

case ${1:-} in
  check) check "${2:-}" ;;
  release) release ;;
  *)
    echo "usage: $0 check [ROOT] | release" >&2
    exit 2
    ;;
esac
