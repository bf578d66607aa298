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
cargo test -q --workspace --no-fail-fast -- --test-threads=4
