#!/usr/bin/env bash
# Build one Rust crate to a .wasm file, release mode, size-optimized.
#
#   build-crate.sh <crate-dir> <target> <out.wasm> [extra cargo args...]
#
#   wasm32-unknown-unknown -> builds the crate's cdylib (--lib)
#   wasm32-wasip1          -> builds the crate's bin   (--bins; must be exactly one)
#
# Exit 3 (reason on stderr) when no Rust toolchain route is possible here,
# so callers can skip Rust modules instead of failing.
set -euo pipefail

[[ $# -ge 3 ]] || { echo "usage: $0 <crate-dir> <wasm32-unknown-unknown|wasm32-wasip1> <out.wasm> [cargo args...]" >&2; exit 2; }
crate="$(cd "$1" && pwd)"; target="$2"; out="$3"; shift 3
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

case "$target" in
  wasm32-unknown-unknown) sel=(--lib) ;;
  wasm32-wasip1) sel=(--bins) ;;
  *) echo "build-crate.sh: unsupported target $target" >&2; exit 2 ;;
esac

# Sets CARGO, RUSTC, per-target RUSTFLAGS/LINKER; installs/builds on first use.
unset WASM_BUS_RUST_SYSROOT  # only the debian route sets it
envs="$("$here/toolchain.sh" env)" || exit $?
eval "$envs"
# A global RUSTFLAGS would replace the per-target --sysroot flags entirely.
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS

# A 128 KiB shadow stack instead of rustc's 1 MiB: every instance allocates its stack
# pages, so a module's memory at instantiation, its start-up time and how many calls an
# isolate holds all follow it. Rust's wasm targets put the stack first in memory, so an
# overflow traps at address 0 instead of corrupting data.
flags_var="CARGO_TARGET_$(echo "$target" | tr 'a-z-' 'A-Z_')_RUSTFLAGS"
export "$flags_var=${!flags_var:-} -C link-arg=-zstack-size=131072"

# Size-oriented release profile; env wins over the crate's [profile.release],
# the caller's env wins over these defaults.
export CARGO_PROFILE_RELEASE_OPT_LEVEL="${CARGO_PROFILE_RELEASE_OPT_LEVEL:-z}"
export CARGO_PROFILE_RELEASE_LTO="${CARGO_PROFILE_RELEASE_LTO:-true}"
export CARGO_PROFILE_RELEASE_PANIC="${CARGO_PROFILE_RELEASE_PANIC:-abort}"
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS="${CARGO_PROFILE_RELEASE_CODEGEN_UNITS:-1}"
export CARGO_PROFILE_RELEASE_STRIP="${CARGO_PROFILE_RELEASE_STRIP:-true}"
export CARGO_PROFILE_RELEASE_DEBUG="${CARGO_PROFILE_RELEASE_DEBUG:-false}"
# One target dir for all crates (gitignored target/), so shared deps like serde
# are compiled once and rebuilds are incremental. Per route, as artifacts of
# different compilers can't be mixed anyway.
export CARGO_TARGET_DIR="${WASM_BUS_CARGO_TARGET_DIR:-$repo/target/wasm-$WASM_BUS_RUST_ROUTE}"

# Deleting the cache rebuilds std at the same sysroot path, which cargo's
# fingerprints can't see: stale deps then fail with E0463 "can't find crate".
if [[ -n ${WASM_BUS_RUST_SYSROOT:-} ]]; then
  stamp="$(cat "$WASM_BUS_RUST_SYSROOT/.complete")"
  if [[ "$(cat "$CARGO_TARGET_DIR/.sysroot-stamp" 2>/dev/null)" != "$stamp" ]]; then
    rm -rf "$CARGO_TARGET_DIR"/wasm32-*
    mkdir -p "$CARGO_TARGET_DIR" && echo "$stamp" >"$CARGO_TARGET_DIR/.sysroot-stamp"
  fi
fi

# A committed Cargo.lock is honoured exactly (CI reproducibility).
locked=(); [[ -f $crate/Cargo.lock ]] && locked=(--locked)

msgs="$(mktemp)"; trap 'rm -f "$msgs"' EXIT
"$CARGO" build --release --target "$target" --manifest-path "$crate/Cargo.toml" \
  "${sel[@]}" "${locked[@]}" --message-format=json-render-diagnostics "$@" >"$msgs"

# The .wasm artifacts named by cargo's JSON messages (only the crate's own
# cdylib/bin end in .wasm; dependencies are rlibs, build scripts host binaries).
mapfile -t wasms < <(grep '"reason":"compiler-artifact"' "$msgs" | grep -o '"[^"]*\.wasm"' | tr -d '"' | sort -u)
if [[ ${#wasms[@]} -ne 1 ]]; then
  echo "build-crate.sh: expected one .wasm from $crate for $target, got ${#wasms[@]}: ${wasms[*]:-}" >&2
  exit 1
fi
mkdir -p "$(dirname "$out")"
cp "${wasms[0]}" "$out"
echo "build-crate.sh: $out ($(wc -c <"$out") bytes, route $WASM_BUS_RUST_ROUTE)" >&2
