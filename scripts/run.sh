#!/usr/bin/env bash
# The main job: a one-machine Mesos cluster (master + agent in one process,
# upstream's `mesos-local`) on 127.0.0.1, with the operator and scheduler APIs
# at http://127.0.0.1:5050. Extra arguments go to mesos-local (e.g. --num_agents=2).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --bins
exec target/release/mesos-local --ip=127.0.0.1 --port="${PORT:-5050}" "$@"
