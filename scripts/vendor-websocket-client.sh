#!/bin/sh
# Refreshes the copy of websocket-client that travels with the codex skill, so that the skill
# (installed by a plugin manager or by scripts/install.sh) runs with a plain python3 and no pip.
#   scripts/vendor-websocket-client.sh            the version pinned in _vendor/vendor.txt
#   scripts/vendor-websocket-client.sh 1.8.1      pin another version, then fetch it
# Keeps the package, its license and its RECORD (tests/test_vendor.py checks the copy against
# it); drops its test suite, console script and pip's bookkeeping. Uses $PYTHON (default python3).
set -eu
cd "$(dirname "$0")/.."
vendor=plugin/skills/codex-ws-client/scripts/_vendor
if [ $# -gt 0 ]; then
    echo "websocket-client==$1" > "$vendor/vendor.txt"
fi
requirement=$(cat "$vendor/vendor.txt")
staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT

"${PYTHON:-python3}" -m pip install --quiet --disable-pip-version-check --no-deps --no-compile \
    --only-binary=:all: --target "$staging" "$requirement"
rm -rf "$staging/bin" "$staging/websocket/tests"
for bookkeeping in INSTALLER REQUESTED direct_url.json entry_points.txt; do
    rm -f "$staging"/websocket_client-*.dist-info/$bookkeeping
done
find "$staging" -name __pycache__ -prune -exec rm -rf {} +

rm -rf "$vendor/websocket" "$vendor"/websocket_client-*.dist-info
mv "$staging/websocket" "$staging"/websocket_client-*.dist-info "$vendor/"
echo "vendored $requirement into $vendor"
