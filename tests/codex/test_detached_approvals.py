"""A detached turn's supervisor answers approvals by the policy the call gave it: with none, it
declines every command, file change and permission request, so nothing runs unattended."""
import json

import pytest

from fixtures.fakes.sse_server import text, tool
from tests.codex.conftest import CodexServer

PATCH = "apply_patch <<'EOF'\n*** Begin Patch\n*** Add File: patched.txt\n+hi there\n*** End Patch\nEOF\n"


@pytest.fixture
def codex_server(tmp_path, fake_model):
    # request_permissions_tool: the model's request_permissions call becomes a permission request.
    server = CodexServer(tmp_path / "codex-home", fake_model, ["--enable", "request_permissions_tool"])
    yield server
    server.stop()


def _ask_for_a_permission_a_command_and_a_file_change(fake, work, outside):
    fake.add(tool("request_permissions", {"permissions": {"file_system": {"write": [str(outside)]}},
                                          "reason": "to write the report"}),
             tool("exec_command", {"cmd": f"touch {outside}/report"}),   # runs only with the permission
             tool("exec_command", {"cmd": f"touch {work}/command-ran", "sandbox_permissions": "require_escalated",
                                   "justification": "the test asks for it"}),
             tool("exec_command", {"cmd": PATCH}),
             text("done"))


def _detached_turn(codex, job_store, folder, *options):
    """Runs the three-request turn detached in `folder`; returns (its --result envelope, its job record,
    what happened: which of the three effects exist)."""
    work, outside = folder / "work", folder / "outside"
    work.mkdir(parents=True)
    outside.mkdir()
    _ask_for_a_permission_a_command_and_a_file_change(codex.fake, work, outside)
    detached = codex("--json", "--detach", *options, "--cwd", str(work), "change things while nobody watches")
    assert detached.returncode == 0, detached.stderr
    job_id = detached.envelope["job_id"]
    result = codex("--json", "--result", job_id, "--timeout", "90", uri=False, trace=False)
    assert result.returncode == 0, result.stderr
    record = json.loads((job_store / f"{job_id}.json").read_text())
    happened = {"permission": (outside / "report").exists(), "command": (work / "command-ran").exists(),
                "file change": (work / "patched.txt").exists()}
    return result.envelope, record, happened


def _decisions(envelope):
    return [(approval["kind"], approval["decision"], approval["decided_by"]) for approval in envelope["approvals"]]


def test_a_detached_turn_without_a_policy_declines_everything_and_runs_nothing(codex, tmp_path, private_job_store):
    envelope, record, happened = _detached_turn(codex, private_job_store, tmp_path / "unattended")
    assert _decisions(envelope) == [("permissions", "decline", "policy"), ("command", "decline", "policy"),
                                    ("file_change", "decline", "policy")]
    assert happened == {"permission": False, "command": False, "file change": False}
    assert record["policy"]["approve"] == [] and _decisions(record["envelope"]) == _decisions(envelope)

    # The same turn approved does all three: the declines above are the policy's, not a broken setup.
    envelope, record, happened = _detached_turn(codex, private_job_store, tmp_path / "approved", "--approve", "all")
    assert _decisions(envelope) == [("permissions", "accept", "policy"), ("command", "accept", "policy"),
                                    ("file_change", "accept", "policy")]
    assert happened == {"permission": True, "command": True, "file change": True}
    assert record["policy"]["approve"] == ["all"]
