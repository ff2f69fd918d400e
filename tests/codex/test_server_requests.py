"""Server requests: approvals declined by default, asked with --interactive-approvals."""
import json

import jsonschema
import pytest

from fixtures.fakes.sse_server import text, tool
from fixtures.fakes.ws_faults import FaultServer
from tests.helpers import CODEX_SCRIPT, run_script, wait_until


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
    codex.fake.add(_exec_command(marker), text("finished"))
    assert codex("--json", "--approve", "commands", "run something").returncode == 0
    assert marker.exists(), "the same call approved runs the command"


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
    codex.fake.add(_exec_command(marker), text("ran it"))
    codex("--repl", "--json", "--interactive-approvals", stdin="please run\ny\n")
    assert marker.exists(), "the same call answered yes runs the command"


@pytest.mark.parametrize("stdin, stdin_saying_yes, args", [
    ("please run\n\n", "please run\ny\n", ["--repl"]),   # an empty answer line
    ("", "y\n", ["please run"])])                        # the end of input
def test_interactive_approval_empty_answer_or_end_of_input_declines(codex, tmp_path, stdin, stdin_saying_yes, args):
    marker = tmp_path / "not-approved"
    codex.fake.add(_exec_command(marker), text("did not run"))
    result = codex("--json", "--interactive-approvals", *args, stdin=stdin)
    assert "Allow? [y/N]" in result.stderr
    assert not marker.exists()
    assert result.envelopes[0]["approvals"][0]["decision"] == "decline"
    assert _answers(result)[0][1]["result"] == {"decision": "decline"}
    codex.fake.add(_exec_command(marker), text("ran it"))
    codex("--json", "--interactive-approvals", *args, stdin=stdin_saying_yes)
    assert marker.exists(), "the same call answered yes runs the command"


# The pinned app-server sends these two only on conversations of its removed v1 API, which a client
# of 0.169.0 cannot start: a hand-written server sends them, shaped by the real server's schema.
LEGACY_REQUESTS = {
    "execCommandApproval": {"conversationId": "thread-1", "callId": "call-1", "command": ["touch", "x"],
                            "cwd": "/tmp", "parsedCmd": []},
    "applyPatchApproval": {"conversationId": "thread-1", "callId": "call-2",
                           "fileChanges": {"/tmp/x": {"type": "add", "content": "x"}}},
}
TURN_COMPLETED = ("json", {"method": "turn/completed", "params": {
    "threadId": "thread-1", "turn": {"id": "turn-1", "status": "completed", "items": []}}})


@pytest.mark.parametrize("method", sorted(LEGACY_REQUESTS))
@pytest.mark.parametrize("options, decision, reported", [
    ([], {"denied": {"rejection": "declined by codex-ws-client"}}, "decline"),
    (["--approve", "all"], "approved", "accept"),
    (["--approve", "all", "--approve-for-session"], "approved_for_session", "acceptForSession")])
def test_legacy_approval_requests_are_denied_unless_approved(method, options, decision, reported,
                                                               protocol_schema):
    params = LEGACY_REQUESTS[method]
    jsonschema.validate(params, protocol_schema.params_schema(method))
    server = FaultServer([("json", {"id": 41, "method": method, "params": params}), TURN_COMPLETED, ("wait",)])
    try:
        result = run_script(CODEX_SCRIPT, ["--uri", server.uri, "--json", *options, "x"])
        answer = wait_until(lambda: next((m for m in server.received if m.get("id") == 41), None),
                            what="the answer to the approval request")
    finally:
        server.stop()
    assert answer == {"id": 41, "result": {"decision": decision}}
    jsonschema.validate(answer["result"], protocol_schema.response_schema(method))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["approvals"][0]["decision"] == reported
