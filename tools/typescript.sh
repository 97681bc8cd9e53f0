#!/usr/bin/env bash
# Generates TypeScript for the contract with protoc-gen-es (configured in buf.gen.yaml) into
# .build/ts, then type-checks it with tsc --strict (tools/typescript/tsconfig.json). Fails if
# generation fails or if the output does not compile.
set -euo pipefail
cd "$(dirname "$0")/.."
node_modules=tools/node/node_modules
buf=${BUF:-$node_modules/.bin/buf}
"$buf" generate
# tsc looks for @bufbuild/protobuf in node_modules directories above each generated file.
# This link makes tools/node's copy visible from .build/ts. It sits outside the output
# directory, which buf empties on every run.
rm -f .build/node_modules
ln -s ../tools/node/node_modules .build/node_modules
if ! "$node_modules/.bin/tsc" -p tools/typescript/tsconfig.json --strict --noEmit; then
  echo "the TypeScript generated from protos/ into .build/ts does not compile under tsc --strict" >&2
  exit 1
fi
count=$(find .build/ts -name '*_pb.ts' | wc -l)
echo "the TypeScript generated from protos/ ($count files in .build/ts) compiles under tsc --strict"
