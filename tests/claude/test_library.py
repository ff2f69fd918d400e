"""claude_client as a library: options that become claude's own, and errors that carry what the real claude said."""
import sys

import pytest

from tests.helpers import SKILLS

sys.path.insert(0, str(SKILLS / "claude-cli-client" / "scripts"))
from claude_client import ClientError, PeerExited, Session  # noqa: E402


def test_a_claude_that_exits_gives_its_code_and_stderr(claude_env, monkeypatch):
    monkeypatch.setenv("PATH", claude_env["PATH"])
    monkeypatch.setenv("HOME", claude_env["HOME"])
    with pytest.raises(PeerExited) as caught:
        Session(permission_mode="nonsense")   # the real claude refuses the value and exits
    error = caught.value
    assert isinstance(error, ClientError) and error.exit_code == 3 and error.returncode == 1
    assert any("nonsense" in line for line in error.stderr_tail) and error.stderr_tail[-1] in str(error)


def test_an_unknown_option_is_a_type_error(claude_env, monkeypatch):
    monkeypatch.setenv("PATH", claude_env["PATH"])
    with pytest.raises(TypeError, match="not_an_option"):
        Session(not_an_option=1)


def test_session_options_reach_claude(claude_env, fake_anthropic, monkeypatch, tmp_path):
    for key, value in claude_env.items():
        monkeypatch.setenv(key, value)
    with Session(cwd=str(tmp_path), model="claude-library-model", append_system_prompt="LIBRARY-MARK",
                 json_schema={"type": "object"}, no_session_persistence=True) as claude:
        envelope = claude.ask("hello")
    assert envelope["status"] == "completed", envelope
    body = fake_anthropic.requests[-1]
    assert body["model"] == "claude-library-model" and "LIBRARY-MARK" in str(body.get("system"))
