"""Fixtures that run brainstorm.py against the real codex app-server and the real claude CLI,
each with its fake model."""
import json
import os
import socket
import subprocess
import sys

import jsonschema
import pytest

from tests.claude.conftest import claude_env, fake_anthropic  # noqa: F401 - fixtures used below
from tests.codex.conftest import CodexServer, fake_model  # noqa: F401
from tests.helpers import CLAUDE_BIN, SKILLS

BRAINSTORM_SCRIPT = SKILLS / "brainstorm" / "scripts" / "brainstorm.py"
SCHEMA = json.loads((SKILLS / "brainstorm" / "references" / "envelope.schema.json").read_text())


@pytest.fixture
def codex_server(tmp_path, fake_model):  # noqa: F811
    server = CodexServer(tmp_path / "codex-home", fake_model)
    yield server
    server.stop()


@pytest.fixture
def project(tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    return folder


@pytest.fixture
def brainstorm(codex_server, claude_env, fake_anthropic, project):  # noqa: F811
    """Runs brainstorm.py --json in `project` against both peers; adds `.envelope` to the result."""

    def run(*args, timeout=120, env=None, script=BRAINSTORM_SCRIPT, python=sys.executable):
        argv = [str(python), str(script), "--json", "--uri", codex_server.uri, *map(str, args)]
        done = subprocess.run(argv, cwd=project, env=env or claude_env, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
        done.envelope = envelope_of(done.stdout)
        return done

    run.codex = codex_server.fake
    run.claude = fake_anthropic
    run.project = project
    run.uri = codex_server.uri
    run.env = claude_env
    return run


def envelope_of(stdout):
    lines = stdout.strip().splitlines()
    assert len(lines) == 1, stdout
    envelope = json.loads(lines[0])
    jsonschema.validate(envelope, SCHEMA)
    return envelope


@pytest.fixture
def unused_port():
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def slow_starting_claude(folder):
    """The real claude, started 60 s late: a wrapper that writes its pid to `folder`/slow-claude.pid first.
    The real claude cannot be made slow to start, so only a wrapper shows that."""
    wrapper, pid_file = folder / "slow-claude", folder / "slow-claude.pid"
    wrapper.write_text(f"#!/bin/sh\necho $$ > '{pid_file}'\nsleep 60\nexec '{CLAUDE_BIN}' \"$@\"\n")
    wrapper.chmod(0o755)
    return wrapper, pid_file


def is_running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
