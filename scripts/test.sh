#!/usr/bin/env bash
# The test command: sets the machine up, then runs every test of the workspace
# (unit, simulator, real-process and interop tests against real Mesos 1.9.0).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export MESOS_TEST_VENV="${MESOS_TEST_VENV:-$(pwd)/.venv}"
cargo build --workspace --bins
if command -v cargo-nextest >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
else
  cargo test --workspace --no-fail-fast "$@"
fi
