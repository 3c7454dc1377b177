#!/usr/bin/env bash
# Debian's chromium for the browser tests (test/node/console*.test.ts drive it with playwright-core;
# a test tool's own browser download cannot work here). Installs it where missing: `npm test` runs
# this before the suite, as it sets the Rust toolchain up, so the test command works on a new machine.
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
if [ "$(id -u)" != 0 ] && ! sudo -n true 2>/dev/null; then
  echo "chromium.sh: /usr/bin/chromium is missing and this user cannot apt-get install it (apt-get install chromium)" >&2
  exit 1
fi
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
echo "chromium.sh: apt-get install chromium" >&2
as_root apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends chromium >&2
