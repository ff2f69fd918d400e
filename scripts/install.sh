#!/bin/sh
# Installs this repository's skills where coding agents find them; see --help.
# A thin wrapper: it finds Python 3.9+ ($PYTHON, else python3, else python) and hands every
# argument to install.py beside it, which does the work.

# Follow symlinks to this script, so that a link to it elsewhere (e.g. in ~/bin) finds install.py.
script=$0
while [ -L "$script" ]; do
    link=$(readlink "$script") || exit 2
    case $link in
        /*) script=$link ;;
        *) script=$(dirname -- "$script")/$link ;;
    esac
done
here=$(CDPATH='' cd -- "$(dirname -- "$script")" && pwd) || exit 2

is_python_3_9() {
    "$1" -c 'import sys; sys.exit(sys.version_info < (3, 9))' >/dev/null 2>&1
}

if [ -n "${PYTHON:-}" ]; then
    python=$PYTHON
    if ! command -v "$python" >/dev/null 2>&1; then
        echo "install.sh: error: PYTHON=$python is not a program that can be run" >&2
        exit 2
    fi
    if ! is_python_3_9 "$python"; then
        echo "install.sh: error: PYTHON=$python is not Python 3.9 or newer" >&2
        exit 2
    fi
else
    python=
    for candidate in python3 python; do
        if command -v "$candidate" >/dev/null 2>&1 && is_python_3_9 "$candidate"; then
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
