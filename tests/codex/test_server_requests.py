"""Server requests: approvals declined by default, asked with --interactive-approvals."""
import json

from tests.fakes.sse_server import text, tool


def _exec_command(marker):
    return tool("exec_command", {"cmd": f"touch {marker}", "sandbox_permissions": "require_escalated",
                                 "justification": "the test asks for it"})


def _answers(result):
    requests = {json.dumps(r["msg"]["id"]): r["msg"]["method"] for r in result.trace
                if r["dir"] == "in" and "method" in r["msg"] and "id" in r["msg"]}
    return [(requests[json.dumps(r["msg"]["id"])], r["msg"]) for r in result.trace
            if r["dir"] == "out" and "method" not in r["msg"]]


def test_command_approval_is_declined_by_default(codex, tmp_path):
    marker = tmp_path / "should-not-exist"
    codex.fake.add(_exec_command(marker), text("finished"))
    result = codex("--json", "run something")
    assert result.returncode == 0, result.stderr
    assert not marker.exists()
    assert result.envelope["approvals"] == [{"kind": "command", "request": f"/bin/bash -lc 'touch {marker}'",
                                             "decision": "decline", "decided_by": "policy"}]
    assert _answers(result) == [("item/commandExecution/requestApproval",
                                 {"id": 0, "result": {"decision": "decline"}})]
    assert result.envelope["text"] == "finished"


def test_interactive_approval_yes_runs_the_command(codex, tmp_path):
    marker = tmp_path / "approved"
    codex.fake.add(_exec_command(marker), text("ran it"))
    result = codex("--repl", "--json", "--interactive-approvals", stdin="please run\ny\n")
    assert result.returncode == 0, result.stderr
    assert marker.exists()
    assert "Allow? [y/N]" in result.stderr
    assert result.envelopes[0]["approvals"][0]["decision"] == "accept"
    assert result.envelopes[0]["approvals"][0]["decided_by"] == "user"


def test_interactive_approval_no_declines(codex, tmp_path):
    marker = tmp_path / "declined"
    codex.fake.add(_exec_command(marker), text("did not run"))
    result = codex("--repl", "--json", "--interactive-approvals", stdin="please run\nn\n")
    assert not marker.exists()
    assert result.envelopes[0]["approvals"][0]["decision"] == "decline"
