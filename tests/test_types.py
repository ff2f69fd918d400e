"""The library packages of the client skills (the shared core, codex_client, claude_client,
acp_client; not their command-line subpackages) carry type hints on every function, and mypy finds no error in them."""
import os
import subprocess
import sys

import pytest

from tests.helpers import SKILLS

LIBRARY_PACKAGES = {
    "codex-ws-client": ["agent_bridge", "codex_client"],
    "claude-cli-client": ["agent_bridge", "claude_client"],
    "acp-client": ["agent_bridge", "acp_client"],
}


@pytest.mark.parametrize("skill", sorted(LIBRARY_PACKAGES))
def test_the_library_packages_are_typed_and_mypy_finds_no_error(skill, tmp_path):
    scripts = SKILLS / skill / "scripts"
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--disallow-untyped-defs", "--ignore-missing-imports",
         "--follow-imports=silent", "--exclude", "/cli/", "--cache-dir", str(tmp_path / "mypy-cache"),
         *LIBRARY_PACKAGES[skill]],
        cwd=scripts, env=dict(os.environ, MYPYPATH=str(scripts)), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
