#!/usr/bin/env bash
# Builds the smoke crates with the project's toolchain and checks them in node.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$(mktemp -d)}"
"$here/../build-crate.sh" "$here/lib" wasm32-unknown-unknown "$out/smoke_lib.wasm"
"$here/../build-crate.sh" "$here/cli" wasm32-wasip1 "$out/smoke_cli.wasm"
node "$here/check.mjs" "$out/smoke_lib.wasm" "$out/smoke_cli.wasm"
