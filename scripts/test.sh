#!/usr/bin/env bash
# `npm test`: every test of the project. Starts the local services it needs (scripts/services.sh),
# builds, type-checks, lints, checks the code's formatting (Prettier), then runs the Vitest projects one after the other (unit, conformance,
# integration) and prints one closing line "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/services.sh || exit 1

step() { printf '\n== %s ==\n' "$*"; }
status=0

step "build"
npm run --silent build || exit 1
step "typecheck"
npx tsc -p tsconfig.json --noEmit || status=1
step "lint"
npx eslint . || status=1
step "format (prettier --check, code)"
npx prettier --check --log-level warn "**/*.{ts,js,mjs}" || status=1

results_dir=$(mktemp -d)
# A wall-clock bound per project (about 3x its usual time): Vitest's own test timeouts cannot fire when a
# test starves the event loop (once seen: a microtask loop in a RabbitMQ outage test at 100 % CPU), and
# a hung run must fail loudly rather than run into CI's limit.
declare -A limit=([unit]=600 [conformance]=900 [integration]=1200)
for project in unit conformance integration; do
  step "vitest: $project"
  extra=()
  [ "$project" != unit ] && extra=(--no-file-parallelism)
  timeout --kill-after=10 "${limit[$project]}" npx vitest run --project "$project" "${extra[@]}" \
    --reporter=default --reporter=json --outputFile.json="$results_dir/$project.json"
  code=$?
  if [ $code -eq 124 ] || [ $code -eq 137 ]; then
    echo "vitest $project did not finish within ${limit[$project]} s: a test hung (the file still running above is the one)" >&2
  fi
  [ $code -ne 0 ] && status=1
done

node scripts/summarize-tests.js "$results_dir" || status=1
exit $status
