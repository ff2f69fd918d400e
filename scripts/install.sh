#!/bin/sh
# Installs this repository's skills where coding agents find them; see --help.
# A thin wrapper: it finds Python 3.9+ ($PYTHON, else python3, else python) and hands every
# argument to install.py beside it, which does the work.
here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd) || exit 2

if [ -n "${PYTHON:-}" ]; then
    python=$PYTHON
    if ! command -v "$python" >/dev/null 2>&1; then
        echo "install.sh: error: PYTHON=$python is not a program that can be run" >&2
        exit 2
    fi
else
    python=
    for candidate in python3 python; do
        if command -v "$candidate" >/dev/null 2>&1 &&
           "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 9))' >/dev/null 2>&1; then
            python=$candidate
            break
        fi
    done
    if [ -z "$python" ]; then
        echo "install.sh: error: Python 3.9 or newer not found (install it, or set PYTHON=/path/to/python3)" >&2
        exit 2
    fi
fi

exec "$python" "$here/install.py" "$@"
