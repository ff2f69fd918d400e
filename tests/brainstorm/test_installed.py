"""brainstorm from a plain install, in a fresh project, run by a python3 that lacks websocket-client."""
import subprocess

from tests.brainstorm.conftest import envelope_of
from tests.install_helpers import bare_venv, run_install


def test_brainstorm_runs_from_a_plain_install_in_a_fresh_project(brainstorm, tmp_path):
    project = brainstorm.project
    installed = run_install("--project", project, "--target", "claude", cwd=project, home=brainstorm.env["HOME"])
    assert installed.returncode == 0, installed.stderr
    python3 = bare_venv(tmp_path / "bare")
    script = project / ".claude" / "skills" / "brainstorm" / "scripts" / "brainstorm.py"
    done = subprocess.run([str(python3), str(script), "--json", "--uri", brainstorm.uri, "--rounds", "2",
                           "Is a plain install enough?"], cwd=project, env=brainstorm.env, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    envelope = envelope_of(done.stdout)
    assert len(envelope["rounds"]) == 2 and envelope["conclusions"]
    assert envelope["rounds"][0]["codex"]["text"].startswith("echo: You are Codex")
    assert envelope["rounds"][0]["claude"]["text"].startswith("echo: You are Claude")
