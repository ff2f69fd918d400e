"""After an install for Claude, the real claude CLI discovers every skill (its system/init line)."""
import json
import subprocess

import pytest

from tests.claude.conftest import claude_env, fake_anthropic  # noqa: F401 - fixtures used below
from tests.helpers import CLAUDE_BIN
from tests.install_helpers import git, run_install

SKILLS = {"codex-ws-client", "claude-cli-client", "brainstorm"}


def _skills_claude_sees(project, env):
    done = subprocess.run([str(CLAUDE_BIN), "-p", "hello", "--output-format", "stream-json", "--verbose"],
                          cwd=project, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=60)
    for line in done.stdout.splitlines():
        message = json.loads(line)
        if message.get("type") == "system" and message.get("subtype") == "init":
            return set(message.get("skills") or [])
    raise AssertionError(f"no system/init line from claude: {done.stdout[-500:]} {done.stderr[-500:]}")


@pytest.mark.parametrize("scope", ["project", "git-project", "global"])
def test_claude_lists_every_skill_after_install_and_none_after_uninstall(scope, claude_env, tmp_path):  # noqa: F811
    project = tmp_path / "project"
    project.mkdir()
    home = claude_env["HOME"]
    if scope == "git-project":  # the installer lists the skill folders in .git/info/exclude: still found
        git("init", "-q", cwd=project, home=home)
    where = ["--global"] if scope == "global" else ["--project", project]
    installed = run_install(*where, "--target", "claude", cwd=project, home=home)
    assert installed.returncode == 0, installed.stderr
    assert ("/.claude/skills/brainstorm/" in (project / ".git" / "info" / "exclude").read_text().splitlines()
            if scope == "git-project" else not (project / ".git").exists())
    assert SKILLS <= _skills_claude_sees(project, claude_env)
    removed = run_install(*where, "--target", "claude", "--uninstall", cwd=project, home=home)
    assert removed.returncode == 0, removed.stderr
    assert not SKILLS & _skills_claude_sees(project, claude_env)
