"""Helpers for tests/test_install.py: run the installer, fake skill sources, ask codex."""
import contextlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import jsonschema
import websocket

from tests.helpers import ROOT

INSTALL_SH = ROOT / "scripts" / "install.sh"
INSTALL_PS1 = ROOT / "scripts" / "install.ps1"
MANIFEST = ".install-manifest.json"
ENTRIES = {"codex-ws-client": ("codex_ws_client.py", "codex_client"),
           "claude-cli-client": ("claude_cli_client.py", "claude_client"),
           "brainstorm": ("brainstorm.py", "brainstorm_lib"),
           "acp-client": ("acp_client.py", "acp_client")}
# Variables of the developer's shell that would change where or how the installer works.
SCRUBBED = ("CODEX_HOME", "PYTHONPATH", "PYTHONHOME", "PYTHON", "GIT_DIR", "GIT_WORK_TREE")


def install_command(*args, home, env=None, python=sys.executable, script=INSTALL_SH):
    """(argv, env) of `sh scripts/install.sh ARGS` as a user runs it, with an isolated HOME."""
    full_env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    full_env["HOME"] = str(home)
    if python:
        full_env["PYTHON"] = str(python)
    full_env.update(env or {})
    return ["sh", str(script), *map(str, args)], full_env


def run_install(*args, cwd, home, env=None, python=sys.executable, script=INSTALL_SH, preexec_fn=None):
    """Runs `sh scripts/install.sh ARGS` as a user would, with an isolated HOME."""
    argv, full_env = install_command(*args, home=home, env=env, python=python, script=script)
    return subprocess.run(argv, cwd=str(cwd), env=full_env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=180, preexec_fn=preexec_fn)


@contextlib.contextmanager
def unwritable(folder):
    """Makes folder one whose entries cannot be added or removed, even by root (who ignores modes:
    there the immutable attribute serves), and restores it afterwards."""
    folder = str(folder)
    if os.geteuid() != 0:
        os.chmod(folder, 0o555)
        undo = lambda: os.chmod(folder, 0o755)  # noqa: E731
    else:
        if not shutil.which("chattr") or subprocess.run(["chattr", "+i", folder], capture_output=True).returncode:
            pytest.skip("running as root, and chattr +i is not available to make a folder unwritable")
        undo = lambda: subprocess.run(["chattr", "-i", folder], check=True)  # noqa: E731
    try:
        yield
    finally:
        undo()


def git(*args, cwd, home):
    """Runs git in cwd as a user with no git configuration (HOME is home); returns its stdout."""
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env["HOME"] = str(home)
    result = subprocess.run(["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args],
                            cwd=str(cwd), env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def make_source(folder):
    """A small but complete skills/ folder with every skill, plus caches to be skipped.

    Returns {skill: {relative path: bytes}} of what an install must copy."""
    expected = {}
    for name, (entry, package) in ENTRIES.items():
        files = {
            "SKILL.md": f"---\nname: {name}\ndescription: Test copy of {name}.\n---\n\n# {name}\n".encode(),
            f"scripts/{entry}": b"#!/usr/bin/env python3\nprint('entry')\n",
            f"scripts/{package}/__init__.py": b"",
            f"scripts/{package}/cli.py": f"NAME = {name!r}\n".encode(),
            "references/usage.md": f"usage of {name}\n".encode(),
        }
        if name == "codex-ws-client":
            files["scripts/_vendor/vendor.txt"] = b"websocket-client==1.8.0\n"
        for rel, data in files.items():
            write(folder / name / rel, data)
        (folder / name / "scripts" / entry).chmod(0o755)
        write(folder / name / "scripts" / package / "__pycache__" / "cli.cpython-311.pyc", b"\0cache")
        write(folder / name / "scripts" / "stray.pyc", b"\0cache")
        expected[name] = files
    return expected


def write(path, data):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)


def snapshot(folder):
    """{relative path: bytes} of every file under folder, and "/"-suffixed entries for folders."""
    folder = Path(folder)
    result = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        result[rel + "/" if path.is_dir() else rel] = None if path.is_dir() else path.read_bytes()
    return result


def files_of(folder):
    """{relative path: bytes} of the files under folder (no folders, no bytecode caches)."""
    return {rel: data for rel, data in snapshot(folder).items()
            if not rel.endswith("/") and "__pycache__/" not in rel}


def manifest_of(skill_dir):
    return json.loads((Path(skill_dir) / MANIFEST).read_text())


def one_line_error(result):
    """Checks the installer's error contract: exit 2, nothing on stdout, one line on stderr."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert result.stdout == ""
    assert "[Errno" not in lines[0], lines[0]
    return lines[0]


def bare_venv(folder):
    """A fresh virtualenv without pip or any package: a `python3` that lacks websocket-client."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True,
                   capture_output=True, timeout=120)
    python = folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    probe = subprocess.run([str(python), "-c", "import websocket"], capture_output=True,
                           env=clean_python_env())
    assert probe.returncode != 0, "the bare venv can import websocket"
    return python


def clean_python_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED and k != "VIRTUAL_ENV"}
    env.update(extra)
    return env


class SkillsClient:
    """Just enough of the app-server protocol to ask `skills/list`, checked against the schema."""

    def __init__(self, server, schema_folder):
        self.schema_folder = Path(schema_folder)
        self.ws = websocket.create_connection(server.uri, suppress_origin=True, timeout=30)
        self.next_id = 0
        self.call("initialize", {"clientInfo": {"name": "install-test", "version": "0"}})
        self.ws.send(json.dumps({"method": "initialized"}))

    def call(self, method, params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id and "method" not in message:
                assert "error" not in message, message
                return message["result"]

    def skills_list(self, cwd):
        params = {"cwds": [str(cwd)], "forceReload": True}
        self._validate(params, "SkillsListParams.json")
        result = self.call("skills/list", params)
        self._validate(result, "SkillsListResponse.json")
        return result

    def _validate(self, instance, name):
        jsonschema.validate(instance, json.loads((self.schema_folder / "v2" / name).read_text()))

    def close(self):
        self.ws.close()
