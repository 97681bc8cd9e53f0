#!/usr/bin/env bash
# Checks protos/ for breaking changes against the protos of a git ref, with buf's FILE rules.
# The staged googleapis protos are not in git, so the base is checked out into a scratch
# directory next to the same staged imports and built into an image to compare with.
set -euo pipefail
base_ref=${1:-main}
buf=${BUF:-tools/node/node_modules/.bin/buf}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/.build"
git archive "$base_ref" protos buf.yaml | tar -x -C "$scratch"
cp -r .build/protodeps "$scratch/.build/protodeps"
"$buf" build "$scratch" -o "$scratch/base.binpb"
"$buf" build . -o "$scratch/current.binpb"
"$buf" breaking "$scratch/current.binpb" --against "$scratch/base.binpb"
echo "no breaking changes against $base_ref"
