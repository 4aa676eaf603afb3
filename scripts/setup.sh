#!/usr/bin/env bash
# Installs everything the build and the tests need on a fresh Debian machine.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
for pkg in pkg-config libssl-dev python3-venv curl ca-certificates procps iproute2 busybox-static unzip zip bzip2 xz-utils zookeeper; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: apt-get install ${need_apt[*]}"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  fi
fi

# The real Apache Mesos 1.9.0 kit used by interop tests (../shared/ref-mesos).
KIT="${MESOS_REF_KIT:-$(pwd)/../shared/ref-mesos}"
if [ -x "$KIT/setup.sh" ] || [ -f "$KIT/setup.sh" ]; then
  if [ ! -x "${MESOS_REF_HOME:-$HOME/.cache/mesos-ref-1.9.0}/bin/mesos-ref-local" ]; then
    echo "setup: building the real Mesos 1.9.0 kit"
    bash "$KIT/setup.sh" >/tmp/mesos-ref-setup.log 2>&1 || { tail -30 /tmp/mesos-ref-setup.log; echo "setup: the kit failed to build; interop tests will skip"; }
  fi
  # The real 1.8.1 beside it, for the upgrade and mixed-version tests.
  if [ ! -x "$HOME/.cache/mesos-ref-1.8.1/bin/mesos-ref-local" ]; then
    echo "setup: building the real Mesos 1.8.1 kit"
    env -u MESOS_REF_HOME MESOS_REF_VERSION=1.8.1 bash "$KIT/setup.sh" >/tmp/mesos-ref-setup-1.8.1.log 2>&1 || { tail -30 /tmp/mesos-ref-setup-1.8.1.log; echo "setup: the 1.8.1 kit failed to build; its tests will skip"; }
  fi
else
  echo "setup: no Mesos 1.9.0 kit at $KIT; interop tests will skip"
fi

# Python clients for interop tests (pymesos: HTTP scheduler API v1).
VENV="${MESOS_TEST_VENV:-$(pwd)/.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c 'import pymesos' 2>/dev/null; then
  # pymesos needs http-parser, whose C extension does not build on Python 3.11:
  # install it with the pure-Python parser it ships (pymesos falls back to it).
  tmp=$(mktemp -d)
  "$VENV/bin/pip" download -q --disable-pip-version-check --no-deps --no-binary :all: -d "$tmp" 'http-parser==0.9.0'
  tar -xzf "$tmp"/http-parser-0.9.0.tar.gz -C "$tmp"
  sed -i 's/run_setup(not IS_PYPY)/run_setup(False)/' "$tmp"/http-parser-0.9.0/setup.py
  "$VENV/bin/pip" install -q --disable-pip-version-check "$tmp"/http-parser-0.9.0 'pymesos==0.3.15'
  rm -rf "$tmp"
fi

command -v cargo-nextest >/dev/null 2>&1 || cargo install --locked cargo-nextest >/dev/null 2>&1 || true
echo "setup: done"
