"""The same client against another ACP agent: Zed's codex-acp adapter (Codex as an ACP agent),
pointed at the fake Responses API. Nothing in the client is Gemini's own."""
import json

import pytest

from fixtures.fakes import responses_api
from fixtures.fakes.sse_server import text, tool
from fixtures.peers import CONFIG
from tests.helpers import PEERS_BIN, installed_version

ESCALATED = {"cmd": "echo made > made.txt", "sandbox_permissions": "require_escalated", "justification": "a test"}


@pytest.fixture
def codex_acp(acp, tmp_path):
    """Runs acp_client.py with --agent-command codex-acp, its CODEX_HOME set for the fake Responses API."""
    fake = responses_api.start()
    codex_home = tmp_path / "codex-home"
    codex_home.mkdir()
    (codex_home / "config.toml").write_text(CONFIG.format(port=fake.port))
    env = dict(acp.env, CODEX_HOME=str(codex_home))

    def run(*args, **options):
        return acp(*args, "--agent-command", str(PEERS_BIN / "codex-acp"), env=env, **options)
    run.fake = fake
    run.workdir = acp.workdir
    yield run
    fake.stop()


def test_codex_acp_answers(codex_acp):
    result = codex_acp("--json", "hello codex")
    assert result.returncode == 0, result.stderr
    assert result.envelope["text"].endswith("echo: hello codex")   # after codex's own warning about the model
    assert result.envelope["agent_version"] == installed_version("@zed-industries/codex-acp")


def test_codex_acp_runs_an_approved_command(codex_acp):
    codex_acp.fake.add(tool("exec_command", ESCALATED), text("made it"))
    result = codex_acp("--json", "--approve", "commands", "make a file")
    assert result.returncode == 0, result.stderr
    assert (codex_acp.workdir / "made.txt").read_text() == "made\n"
    assert result.envelope["approvals"][0]["decision"] == "accept"


def test_codex_acp_rejecting_a_command_ends_the_turn_failed_not_interrupted(codex_acp):
    """codex-acp's one reject option is `abort`, which ends the turn with stop reason cancelled:
    the caller did not interrupt it, so it is no exit 130."""
    codex_acp.fake.add(tool("exec_command", ESCALATED), text("not made"))
    result = codex_acp("--json", "make a file")
    assert result.returncode == 1, result.stderr
    assert result.envelope["status"] == "failed" and result.envelope["stop_reason"] == "cancelled"
    assert "rejected" in result.envelope["error"]
    assert result.envelope["approvals"][0]["option"] == "abort"
    assert not (codex_acp.workdir / "made.txt").exists()


def test_codex_acp_continues_a_session_by_id(codex_acp):
    """session/load on a second ACP agent (gemini's own continue waits for a new minute: extended run)."""
    first = codex_acp("--json", "remember the word kiwi")
    assert first.returncode == 0, first.stderr
    codex_acp.fake.add(text("the word was kiwi"))
    second = codex_acp("--json", "--session-id", first.envelope["session_id"], "which word?")
    assert second.returncode == 0, second.stderr
    assert second.envelope["session_id"] == first.envelope["session_id"]
    assert second.envelope["text"].endswith("the word was kiwi")   # after codex's own warning about the model
    assert "echo: remember" not in second.envelope["text"]   # the replayed history is not the new turn's text
    assert "remember the word kiwi" in json.dumps(codex_acp.fake.requests[-1])   # codex kept the first turn
    assert any(r["dir"] == "out" and r["msg"].get("method") == "session/load" for r in second.trace)
