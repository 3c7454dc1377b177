#!/usr/bin/env bash
# CI for what callers use (issue 11): the TypeScript client (sdk/client), the console
# (sdk/console, GET /console) and the OpenAPI description (GET /openapi.json). .ci/run calls it
# after `npm run build` and before `npm test`, whose node project then runs the client's
# integration tests and the console in chromium (test/node/client.test.ts, console*.test.ts).
set -euo pipefail
cd "$(dirname "$0")/../.."
export WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false

# The browser tests drive Debian's chromium (playwright-core, never a downloaded browser).
bash scripts/chromium.sh

# The generated module types are what the manifests say.
node sdk/client/scripts/generate.mjs --check
# The client and the console type-check on their own (DOM types, no Node's: no Node built-in creeps in);
# the client's check holds the @ts-expect-error lines of a misspelled topic or field.
npx tsc -p sdk/client/tsconfig.json
npx tsc -p sdk/console/tsconfig.json
# The client's own unit tests (fake fetch and WebSocket).
npx vitest run --config sdk/client/vitest.config.ts
# The live endpoints, fuzzed from their own description.
bash scripts/ci/fuzz.sh
