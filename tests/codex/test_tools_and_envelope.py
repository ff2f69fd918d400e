"""Thread and server tools, turn inputs, the richer envelope, approvals as policy."""
import json
import struct
import zlib

import pytest

from fixtures.fakes.sse_server import text, tool
from tests.helpers import installed_version


PATCH = "apply_patch <<'EOF'\n*** Begin Patch\n*** Add File: hello.txt\n+hi there\n*** End Patch\nEOF\n"


def _png(path):
    """A valid 1x1 PNG, written with the standard library."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) +
                     chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def _sent(result, method):
    return next(r["msg"]["params"] for r in result.trace if r["dir"] == "out" and r["msg"].get("method") == method)


def test_threads_and_read_thread(codex, tmp_path):
    first = codex("--json", "--cwd", str(tmp_path), "a thread to find").envelope
    listed = codex("--threads")
    assert listed.returncode == 0
    threads = json.loads(listed.stdout)
    mine = next(t for t in threads if t["id"] == first["thread_id"])
    assert set(mine) == {"id", "preview", "updated", "cwd"}
    assert mine["preview"] == "a thread to find" and mine["cwd"] == str(tmp_path)
    read = json.loads(codex("--read-thread", first["thread_id"]).stdout)
    assert read["id"] == first["thread_id"] and read["turns"][0]["id"] == first["turn_id"]


def test_models_and_check(codex):
    models = codex("--models")
    assert models.returncode == 0 and isinstance(json.loads(models.stdout), list)
    check = codex("--check")
    info = json.loads(check.stdout)
    assert check.returncode == 0 and info["ok"] is True and info["server"].startswith(f"codex-ws-client/{installed_version('@openai/codex')}")


def test_check_when_nothing_listens_is_exit_3(codex):
    result = codex("--check", "--json", uri="ws://127.0.0.1:9", trace=False)
    assert result.returncode == 3 and result.envelope["status"] == "connection_failed"


def test_image_effort_and_approval_policy_pass_through(codex, tmp_path):
    image = tmp_path / "pixel.png"
    _png(image)
    result = codex("--json", "--image", str(image), "--effort", "low", "--approval-policy", "never", "look")
    assert result.returncode == 0, result.stderr
    turn = _sent(result, "turn/start")
    assert turn["input"][1] == {"type": "localImage", "path": str(image)}
    assert turn["effort"] == "low"
    assert _sent(result, "thread/start")["approvalPolicy"] == "never"
    assert "input_image" in json.dumps(codex.fake.requests[-1]["input"])


def _advertised_efforts(codex, model):
    listed = next(m for m in json.loads(codex("--models").stdout) if m["model"] == model)
    return [option["reasoningEffort"] for option in listed["supportedReasoningEfforts"]]


def test_an_effort_the_threads_model_does_not_offer_is_exit_2_before_the_model_is_asked(codex):
    model = json.loads(codex("--models").stdout)[0]["model"]   # codex's own catalogue, e.g. gpt-6.1-sol
    refused = codex("--json", "--model", model, "--effort", "bogus", "x")
    assert refused.returncode == 2 and refused.envelope["status"] == "bad_arguments", refused.envelope
    assert "'bogus'" in refused.envelope["error"] and ", ".join(_advertised_efforts(codex, model)) in \
        refused.envelope["error"]
    assert not any(r["msg"].get("method") == "turn/start" for r in refused.trace if r["dir"] == "out")
    assert not codex.fake.requests
    offered = _advertised_efforts(codex, model)[0]   # (codex sends some, e.g. ultra, to the model as another)
    accepted = codex("--json", "--model", model, "--effort", offered, "x")
    assert accepted.returncode == 0 and codex.fake.requests[-1]["reasoning"]["effort"] == offered


def test_an_empty_effort_is_exit_2_before_connecting(codex):
    result = codex("--json", "--effort", " ", "x", uri="ws://127.0.0.1:9", trace=False)
    assert result.returncode == 2 and "--effort is empty" in result.envelope["error"]


def test_a_model_codex_does_not_list_gets_the_effort_as_given(codex):
    result = codex("--json", "--effort", "custom-level", "x")   # the test config's mock-model is nobody's catalogue
    assert result.returncode == 0 and codex.fake.requests[-1]["reasoning"]["effort"] == "custom-level"


def test_missing_image_is_a_bad_argument(codex, tmp_path):
    result = codex("--json", "--image", str(tmp_path / "none.png"), "x", trace=False)
    assert result.returncode == 2 and "--image" in result.envelope["error"]


def _exec(cmd, escalate=True):
    args = {"cmd": cmd}
    if escalate:
        args.update(sandbox_permissions="require_escalated", justification="test")
    return tool("exec_command", args)


def test_approve_commands_runs_them_and_lists_them(codex, tmp_path):
    marker = tmp_path / "ran"
    codex.fake.add(_exec(f"touch {marker}"), text("done"))
    result = codex("--json", "--approve", "commands", "--cwd", str(tmp_path), "go")
    assert marker.exists()
    envelope = result.envelope
    assert envelope["approvals"][0]["decision"] == "accept" and envelope["approvals"][0]["decided_by"] == "policy"
    command = envelope["commands"][0]
    assert command["command"] == f"/bin/bash -lc 'touch {marker}'"
    assert command["exit_code"] == 0 and command["status"] == "completed"
    assert command["cwd"] == str(tmp_path) and command["duration_ms"] >= 0


def test_approve_for_session_only_where_the_server_offers_it(codex, tmp_path):
    # For this command the server offers accept, an execpolicy amendment and cancel: no session decision.
    codex.fake.add(_exec(f"touch {tmp_path}/x"), text("done"))
    result = codex("--json", "--approve", "all", "--approve-for-session", "--cwd", str(tmp_path), "go")
    request = next(r["msg"]["params"] for r in result.trace
                   if r["msg"].get("method") == "item/commandExecution/requestApproval")
    assert "acceptForSession" not in request["availableDecisions"]
    assert result.envelope["approvals"][0]["decision"] == "accept"
    codex.fake.add(_exec(PATCH, escalate=False), text("patched"))
    patched = codex("--json", "--approve", "all", "--approve-for-session", "--cwd", str(tmp_path), "patch")
    assert patched.envelope["approvals"][0]["decision"] == "acceptForSession"
    assert (tmp_path / "hello.txt").exists()


@pytest.mark.parametrize("approve", [True, False])
def test_file_changes_and_diff(codex, tmp_path, approve):
    codex.fake.add(_exec(PATCH, escalate=False), text("patched"))
    result = codex("--json", "--cwd", str(tmp_path), *(["--approve", "file-changes"] if approve else []), "patch")
    envelope = result.envelope
    path = str(tmp_path / "hello.txt")
    assert envelope["approvals"] == [{"kind": "file_change", "request": path,
                                      "decision": "accept" if approve else "decline", "decided_by": "policy"}]
    assert envelope["file_changes"] == [{"path": path, "kind": "add",
                                         "status": "completed" if approve else "declined"}]
    assert (tmp_path / "hello.txt").exists() == approve
    if approve:
        assert "+hi there" in envelope["diff"]


def test_output_schema_answer_is_parsed(codex, tmp_path):
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"type": "object", "properties": {"n": {"type": "integer"}}}))
    codex.fake.add(text('{"n": 7}'))
    good = codex("--json", "--output-schema", str(schema), "x")
    assert good.envelope["output"] == {"n": 7}
    codex.fake.add(text("not json at all"))
    bad = codex("--json", "--output-schema", str(schema), "x")
    assert bad.returncode == 5 and bad.envelope["status"] == "parse_error"
    assert bad.envelope["text"] == "not json at all" and "output" not in bad.envelope
