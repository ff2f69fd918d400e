"""Permission requests (`item/permissions/requestApproval`): declined unless --approve permissions.

The pinned app-server sends them when the model calls its `request_permissions` tool, which the
under-development feature `request_permissions_tool` turns on. What is granted is real: the
read-only sandbox then lets a later command of the turn write where the grant allows.
"""
import json

import pytest

from tests.codex.conftest import CodexServer
from tests.codex.test_server_requests import _answers
from fixtures.fakes.responses_api import last_function_output
from fixtures.fakes.sse_server import text, tool


@pytest.fixture
def codex_server(tmp_path, fake_model):
    server = CodexServer(tmp_path / "codex-home", fake_model, ["--enable", "request_permissions_tool"])
    yield server
    server.stop()


@pytest.fixture
def outside(tmp_path):
    """A folder the read-only sandbox does not let commands write to."""
    folder = tmp_path / "outside"
    folder.mkdir()
    return folder


def _ask_for_write_access_then_write(fake, folder):
    fake.add(tool("request_permissions", {"permissions": {"file_system": {"write": [str(folder)]}},
                                          "reason": "to write the report"}),
             tool("exec_command", {"cmd": f"touch {folder}/report"}),
             text("done"))


def _granted(fake):
    """What the server told the model it was granted (the output of its request_permissions call)."""
    return json.loads(last_function_output(fake.requests[1]))


def test_permission_requests_are_declined_by_default(codex, outside):
    _ask_for_write_access_then_write(codex.fake, outside)
    result = codex("--json", "write the report")
    assert result.returncode == 0, result.stderr
    assert result.envelope["approvals"] == [{"kind": "permissions", "request": "to write the report",
                                             "decision": "decline", "decided_by": "policy"}]
    assert _answers(result) == [("item/permissions/requestApproval", {"id": 0, "result": {"permissions": {}}})]
    assert _granted(codex.fake)["permissions"]["file_system"] is None
    assert list(outside.iterdir()) == []
    assert "Read-only file system" in last_function_output(codex.fake.requests[2])
    _ask_for_write_access_then_write(codex.fake, outside)
    assert codex("--json", "--approve", "permissions", "write the report").returncode == 0
    assert (outside / "report").exists(), "the same call approved writes the report"


@pytest.mark.parametrize("options, scope", [(["--approve", "permissions"], "turn"),
                                            (["--approve", "all", "--approve-for-session"], "session")])
def test_approved_permissions_are_granted_and_let_the_command_write(codex, outside, options, scope):
    _ask_for_write_access_then_write(codex.fake, outside)
    result = codex("--json", *options, "write the report")
    assert result.returncode == 0, result.stderr
    assert result.envelope["approvals"] == [{"kind": "permissions", "request": "to write the report",
                                             "decision": "accept", "decided_by": "policy"}]
    [(_, answer)] = _answers(result)
    assert answer["result"]["scope"] == scope
    assert answer["result"]["permissions"]["fileSystem"]["write"] == [str(outside)]
    assert _granted(codex.fake) == {"permissions": {"network": None, "file_system": {"write": [str(outside)]}},
                                    "scope": scope}
    assert (outside / "report").exists()


def test_interactive_permission_request_shows_the_reason_and_no_declines(codex, outside):
    _ask_for_write_access_then_write(codex.fake, outside)
    result = codex("--json", "--interactive-approvals", "write the report", stdin="no\n")
    assert "Codex asks to allow permissions: to write the report" in result.stderr
    assert result.envelope["approvals"][0]["decision"] == "decline"
    assert result.envelope["approvals"][0]["decided_by"] == "user"
    assert list(outside.iterdir()) == []
    _ask_for_write_access_then_write(codex.fake, outside)
    codex("--json", "--interactive-approvals", "write the report", stdin="y\n")
    assert (outside / "report").exists(), "the same call answered yes writes the report"
