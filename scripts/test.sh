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
for project in unit conformance integration; do
  step "vitest: $project"
  extra=()
  [ "$project" != unit ] && extra=(--no-file-parallelism)
  npx vitest run --project "$project" "${extra[@]}" --reporter=default --reporter=json \
    --outputFile.json="$results_dir/$project.json" || status=1
done

node scripts/summarize-tests.js "$results_dir" || status=1
exit $status
