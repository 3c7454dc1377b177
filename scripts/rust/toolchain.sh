#!/usr/bin/env bash
# Provide a Rust toolchain that can build wasm32-unknown-unknown and
# wasm32-wasip1 crates, on a developer machine or a fresh CI machine.
#
#   toolchain.sh          set up (install packages / build std) if needed, print a summary
#   toolchain.sh env      set up if needed, then print `export ...` lines for eval
#                         (progress goes to stderr, only exports go to stdout)
#   toolchain.sh check    no side effects: exit 0 if a route is ready, 1 if not
#
# Exit code 3 (with a one-line reason on stderr) means no route can work here.
#
# Routes:
#   rustup  - the rustc on PATH already has std for both wasm targets
#             (e.g. after `rustup target add wasm32-unknown-unknown wasm32-wasip1`).
#   debian  - Debian's rustc-web + its std sources: std is compiled once for both
#             targets with -Zbuild-std into a cache outside the repo, then used
#             via --sysroot. Needed where rustup cannot download targets.
set -euo pipefail

CACHE="${WASM_BUS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wasm-bus}"
TARGETS=(wasm32-unknown-unknown wasm32-wasip1)
# Bump when the way the sysroot is built changes, so old caches are not reused.
RECIPE="v3 build-std=std,panic_abort opt-level=3 embed-bitcode=yes wasi-libc-self-contained wasi-libc-shim"
# What Debian's wasi-libc (2022) lacks and current crates link against (__errno_location, for the
# `errno` crate): compiled with Debian's clang into the sysroot's libc.a (see build_sysroot).
SHIM="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/wasi-libc-shim.c"
# Debian's compiler; the rustup one first on PATH cannot use a sysroot built by this one.
DEB_RUSTC=/usr/bin/rustc
DEB_CARGO=/usr/bin/cargo

log() { echo "toolchain.sh: $*" >&2; }
fail3() { echo "toolchain.sh: $*" >&2; exit 3; }
ex() { printf 'export %s=%q\n' "$1" "$2"; }

# ---------- rustup route ----------
rustup_ready() {
  command -v rustc >/dev/null && command -v cargo >/dev/null || return 1
  local sr t
  sr="$(rustc --print sysroot 2>/dev/null)" || return 1
  for t in "${TARGETS[@]}"; do
    compgen -G "$sr/lib/rustlib/$t/lib/libstd-*.rlib" >/dev/null || return 1
  done
}

rustup_env() {
  ex WASM_BUS_RUST_ROUTE rustup
  ex CARGO "$(command -v cargo)"
  ex RUSTC "$(command -v rustc)"
  # rustup ships rust-lld, the targets' default linker: nothing else to set.
}

# ---------- debian route ----------
llvm_major() { "$DEB_RUSTC" -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p'; }
rust_release() { "$DEB_RUSTC" -vV | sed -n 's/^release: //p'; }
std_library() { echo "$("$DEB_RUSTC" --print sysroot)/lib/rustlib/src/rust/library"; }

# wasm-ld from the same LLVM major as rustc (objects from a newer LLVM can carry
# features an older wasm-ld rejects); lld-16 is the fallback known to work too.
find_wasm_ld() {
  local m; m="$(llvm_major 2>/dev/null || true)"
  for c in ${m:+/usr/bin/wasm-ld-$m} /usr/bin/wasm-ld-16; do
    [[ -x $c ]] && { echo "$c"; return 0; }
  done
  return 1
}

# clang and llvm-ar/llvm-nm for the wasi-libc shim: the LLVM of rustc, else 16 or 14 (all in
# bookworm); any of them targets wasm32 and writes objects wasm-ld reads.
find_llvm_tool() {
  local m c; m="$(llvm_major 2>/dev/null || true)"
  for c in ${m:+/usr/bin/$1-$m} /usr/bin/$1-16 /usr/bin/$1-14; do
    [[ -x $c ]] && { echo "$c"; return 0; }
  done
  return 1
}
shim_tools_ready() { find_llvm_tool clang >/dev/null && find_llvm_tool llvm-ar >/dev/null && find_llvm_tool llvm-nm >/dev/null; }

sysroot_dir() {
  local wasi h
  wasi="$(dpkg-query -W -f='${Version}' wasi-libc 2>/dev/null || echo none)"
  h="$( { "$DEB_RUSTC" -vV; echo "$RECIPE"; echo "wasi-libc $wasi"; sha256sum <"$SHIM"; } | sha256sum | cut -c1-12)"
  echo "$CACHE/sysroot-$(rust_release)-$h"
}

debian_ready() {
  [[ -x $DEB_RUSTC && -x $DEB_CARGO && -f "$(std_library)/Cargo.lock" ]] || return 1
  find_wasm_ld >/dev/null || return 1
  [[ -f "$(sysroot_dir)/.complete" ]]
}

# Root, or password-less sudo (checked before in install_packages).
as_root() { if [[ $(id -u) == 0 ]]; then "$@"; else sudo "$@"; fi; }

has_candidate() { local c; c="$(apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p')"; [[ -n $c && $c != "(none)" ]]; }

install_packages() {
  local pkgs=() p m need_ld=0 need_shim=0
  for p in rustc-web cargo-web rust-web-src wasi-libc; do
    dpkg -s "$p" >/dev/null 2>&1 || pkgs+=("$p")
  done
  find_wasm_ld >/dev/null || need_ld=1
  shim_tools_ready || need_shim=1
  [[ ${#pkgs[@]} == 0 && $need_ld == 0 && $need_shim == 0 ]] && return 0
  command -v apt-get >/dev/null || fail3 "no wasm32 std for the rustc on PATH and no apt-get for the Debian route"
  [[ $(id -u) == 0 ]] || sudo -n true 2>/dev/null \
    || fail3 "Rust wasm toolchain missing and not root to apt-get install it (or: rustup target add ${TARGETS[*]})"
  # apt-get update only when the lists don't know rustc-web (fresh machine).
  if ! has_candidate rustc-web; then
    log "apt-get update"
    as_root apt-get -o DPkg::Lock::Timeout=600 update -qq >&2 || fail3 "apt-get update failed"
    has_candidate rustc-web || fail3 "Debian package rustc-web not available (needs bookworm-security or newer)"
  fi
  if [[ $need_ld == 1 ]]; then
    # wasm-ld of the LLVM that rustc-web links against (read from its deps before
    # it is installed); lld-16 (bookworm main) as the fallback that also works.
    m="$(apt-cache depends --recurse --important rustc-web | sed -n 's/.*Depends: libllvm\([0-9][0-9]*\)$/\1/p' | head -1)"
    if [[ -n $m ]] && has_candidate "lld-$m"; then pkgs+=("lld-$m"); else pkgs+=(lld-16); fi
  fi
  if [[ $need_shim == 1 ]]; then
    # clang (C for wasm32) and llvm (llvm-ar, llvm-nm) to build the wasi-libc shim: the LLVM of
    # rustc-web where Debian has it (bookworm: 19), else 16 (bookworm main).
    m="$(apt-cache depends --recurse --important rustc-web | sed -n 's/.*Depends: libllvm\([0-9][0-9]*\)$/\1/p' | head -1)"
    if [[ -n $m ]] && has_candidate "clang-$m" && has_candidate "llvm-$m"; then pkgs+=("clang-$m" "llvm-$m"); else pkgs+=(clang-16 llvm-16); fi
  fi
  log "apt-get install ${pkgs[*]}"
  # Wait for the dpkg lock instead of failing when another apt runs.
  local inst=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${pkgs[@]}")
  # Stale lists name versions the mirror no longer has: update once and retry.
  if ! as_root "${inst[@]}" >&2; then
    log "apt-get install failed; apt-get update and retry"
    { as_root apt-get -o DPkg::Lock::Timeout=600 update -qq >&2 && as_root "${inst[@]}" >&2; } || fail3 "apt-get install ${pkgs[*]} failed"
  fi
  find_wasm_ld >/dev/null || fail3 "no wasm-ld after installing lld"
  shim_tools_ready || fail3 "no clang, llvm-ar and llvm-nm after installing them"
}

# Adds scripts/rust/wasi-libc-shim.c to libc.a in $1 (a copy of Debian's), unless that libc.a
# defines the shim's symbols already (a newer wasi-libc).
add_libc_shim() {
  local dir="$1" clang ar nm missing=0 s
  clang="$(find_llvm_tool clang)" && ar="$(find_llvm_tool llvm-ar)" && nm="$(find_llvm_tool llvm-nm)" \
    || fail3 "clang, llvm-ar and llvm-nm are needed to build the wasi-libc shim"
  "$clang" --target=wasm32-wasi --sysroot=/usr -O2 -c "$SHIM" -o "$dir/wasm-bus-shim.o" >&2 || fail3 "compiling $SHIM failed"
  for s in $("$nm" --defined-only --format=just-symbols "$dir/wasm-bus-shim.o"); do
    "$nm" --defined-only --format=just-symbols "$dir/libc.a" 2>/dev/null | grep -qx "$s" || missing=1
  done
  if [[ $missing == 1 ]]; then
    "$ar" rs "$dir/libc.a" "$dir/wasm-bus-shim.o" >&2 || fail3 "adding the shim to libc.a failed"
    log "libc.a: added $("$nm" --defined-only --format=just-symbols "$dir/wasm-bus-shim.o" | tr '\n' ' ')from $(basename "$SHIM")"
  fi
  rm -f "$dir/wasm-bus-shim.o"
}

build_sysroot() {
  local final lib tmp t
  final="$(sysroot_dir)"; lib="$(std_library)"
  [[ -f $final/.complete ]] && return 0
  [[ -f $lib/Cargo.lock ]] || fail3 "std sources not found at $lib (package rust-web-src)"
  # Holding the setup lock: leftovers of killed builds, and sysroots of other rustc
  # versions (useless with the one /usr/bin/rustc, ~150 MB each), can go.
  find "$CACHE" -mindepth 1 -maxdepth 1 \( -name '.tmp-sysroot.*' -o -name 'sysroot-*' \) -exec rm -rf {} +
  log "building std for ${TARGETS[*]} into $final (once, ~2-4 min)"
  # Build in a temp dir beside the final one and rename at the end, so an
  # interrupted build is never taken for a finished sysroot.
  tmp="$(mktemp -d "$CACHE/.tmp-sysroot.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/dummy/src"
  # A no_std dummy crate: -Zbuild-std compiles std (and all it depends on) for it.
  cat >"$tmp/dummy/Cargo.toml" <<'EOF'
[package]
name = "wasm-bus-sysroot-dummy"
version = "0.0.0"
edition = "2021"
[workspace]
[profile.release]
panic = "abort"
EOF
  echo '#![no_std]' >"$tmp/dummy/src/lib.rs"
  local targs=(); for t in "${TARGETS[@]}"; do targs+=(--target "$t"); done
  # RUSTC_BOOTSTRAP: -Zbuild-std on a stable compiler. std's own crates.io dependencies
  # (pinned by library/Cargo.lock) come from a vendor/ folder where the sources ship one
  # (offline machines), else from the registry: Debian 12's rust-web-src has no vendor/.
  local src=()
  if [[ -d $lib/vendor ]]; then
    src=(--offline --config "source.crates-io.replace-with='std-vendor'" --config "source.std-vendor.directory='$lib/vendor'")
    log "std's dependencies: $lib/vendor"
  else
    log "std's dependencies: crates.io (no vendor/ in $lib)"
  fi
  # -Cembed-bitcode=yes (overrides cargo's "no"): guests build with LTO, which
  # needs bitcode in the std rlibs, as in rustup's std.
  # (CARGO_ENCODED_RUSTFLAGS, even set to "", would override RUSTFLAGS: unset it.)
  (cd "$tmp/dummy" && env -u CARGO_ENCODED_RUSTFLAGS -u CARGO_BUILD_RUSTFLAGS \
    RUSTC_BOOTSTRAP=1 RUSTC="$DEB_RUSTC" RUSTFLAGS="-Cembed-bitcode=yes" \
    "$DEB_CARGO" build --release -Zbuild-std=std,panic_abort \
      "${targs[@]}" "${src[@]}" \
      --target-dir "$tmp/target" >&2) || fail3 "building std with -Zbuild-std failed"
  for t in "${TARGETS[@]}"; do
    mkdir -p "$tmp/sysroot/lib/rustlib/$t/lib"
    find "$tmp/target/$t/release/deps" -name 'lib*.rlib' ! -name 'libwasm_bus_sysroot_dummy-*' \
      -exec cp {} "$tmp/sysroot/lib/rustlib/$t/lib/" \;
  done
  # wasip1 links self-contained by default: rustc looks for crt1-command.o and
  # libc.a in <sysroot>/lib/rustlib/wasm32-wasip1/lib/self-contained/, as in
  # rustup's std. Putting Debian's wasi-libc there means no extra link flags.
  mkdir -p "$tmp/sysroot/lib/rustlib/wasm32-wasip1/lib/self-contained"
  cp /usr/lib/wasm32-wasi/*.a /usr/lib/wasm32-wasi/*.o "$tmp/sysroot/lib/rustlib/wasm32-wasip1/lib/self-contained/"
  add_libc_shim "$tmp/sysroot/lib/rustlib/wasm32-wasip1/lib/self-contained"
  # A unique stamp: build-crate.sh drops target dirs built against another std build.
  echo "$(date +%s%N)-$$" >"$tmp/sysroot/.complete"
  mv -T "$tmp/sysroot" "$final"
  rm -rf "$tmp"; trap - EXIT
  log "sysroot ready: $final ($(du -sh "$final" | cut -f1))"
}

debian_env() {
  local sr ld t T
  sr="$(sysroot_dir)"; ld="$(find_wasm_ld)"
  ex WASM_BUS_RUST_ROUTE debian
  ex CARGO "$DEB_CARGO"
  ex RUSTC "$DEB_RUSTC"
  ex WASM_BUS_RUST_SYSROOT "$sr"
  for t in "${TARGETS[@]}"; do
    T="$(echo "$t" | tr 'a-z-' 'A-Z_')"
    # Per-target, so host units (proc macros, build scripts) keep the compiler's own std.
    ex "CARGO_TARGET_${T}_RUSTFLAGS" "--sysroot=$sr"
    # Debian's rustc has no rust-lld (the targets' default linker).
    ex "CARGO_TARGET_${T}_LINKER" "$ld"
  done
}

route_ready() {
  if rustup_ready; then echo rustup; elif debian_ready; then echo debian; else return 1; fi
}

setup() {
  local r
  if r="$(route_ready)"; then echo "$r"; return 0; fi
  # Serialize setups (parallel builds, CI jobs, other shells) on one cache;
  # whoever waited finds the work done.
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.setup.lock"
  flock 9
  if r="$(route_ready)"; then echo "$r"; return 0; fi
  install_packages
  build_sysroot
  debian_ready || fail3 "Debian route incomplete after setup"
  echo debian
}

case "${1:-}" in
  check)
    if r="$(route_ready)"; then echo "$r"; exit 0; fi
    echo "toolchain.sh: no Rust wasm route ready (run scripts/rust/toolchain.sh)" >&2; exit 1 ;;
  env)
    r="$(setup)"; "${r}_env" ;;
  "")
    r="$(setup)"
    echo "route: $r"; "${r}_env" | sed 's/^export /  /' ;;
  *) echo "usage: $0 [env|check]" >&2; exit 2 ;;
esac
