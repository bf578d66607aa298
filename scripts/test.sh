#!/usr/bin/env bash
# Runs every test: unit tests, the per-crate end-to-end suites (real registry, runc, CNI,
# kubectl) and the walkthrough. Installs what it needs first; idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export CARGO_TERM_COLOR=never
cargo build -q --workspace --all-targets
# The end-to-end suites start servers, registries and containers of their own on unique
# ports, folders and CIDRs, so they may run in parallel.
status=0
cargo test -q --workspace --no-fail-fast -- --test-threads=4 || status=$?
# The container runtime suites ran on youki's libcontainer above (the default backend);
# both backends must pass them, so run them once more on runc.
SKIFF_TEST_OCI=runc cargo test -q -p skiff-runtime --features youki --no-fail-fast \
  --test pods --test streaming --test attach --test hostport --test security -- --test-threads=4 || status=$?
exit "$status"
