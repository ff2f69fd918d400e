#!/usr/bin/env bash
# Prepares a fresh machine for the tests and the demo: a private virtualenv (.venv) with the
# dev dependencies, and the real peers from npm: the pinned ones (tests/peers/package.json), or
# with TEST_PEERS=latest the newest releases (tests/peers-latest/). These folders are git-ignored.
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt

npm_install() {
  npm install --prefix "$1" --no-package-lock --no-audit --no-fund --loglevel=error "${@:2}"
}
LATEST_PEERS="@openai/codex @anthropic-ai/claude-code @google/gemini-cli @zed-industries/codex-acp"
newest_installed() {
  # Whether tests/peers-latest holds the newest release of every peer. npm would otherwise install
  # them again on every run, relinking them under any test that runs them meanwhile (a test runs
  # scripts/test.sh itself).
  local package installed
  for package in $LATEST_PEERS; do
    installed=$(node -p "require('./tests/peers-latest/node_modules/$package/package.json').version" 2>/dev/null) ||
      return 1
    [ "$installed" = "$(npm view "$package" version 2>/dev/null)" ] || return 1
  done
}
if [ "${TEST_PEERS:-pinned}" = latest ]; then
  # The newest releases, asked for again on every run.
  mkdir -p tests/peers-latest
  if ! newest_installed; then
    # shellcheck disable=SC2086
    npm_install tests/peers-latest --no-save $(printf '%s@latest ' $LATEST_PEERS)
  fi
  tests/peers-latest/node_modules/.bin/codex --version
  tests/peers-latest/node_modules/.bin/claude --version
  tests/peers-latest/node_modules/.bin/gemini --version
else
  peers=tests/peers
  if ! "$peers/node_modules/.bin/codex" --version 2>/dev/null | grep -q "0.169.0" ||
     ! "$peers/node_modules/.bin/claude" --version 2>/dev/null | grep -q "2.1.197" ||
     ! "$peers/node_modules/.bin/gemini" --version 2>/dev/null | grep -q "0.61.0" ||
     ! grep -qs '"version": "0.16.0"' "$peers/node_modules/@zed-industries/codex-acp/package.json"; then
    npm_install "$peers"
  fi
fi
