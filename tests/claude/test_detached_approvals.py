"""A detached turn's supervisor answers claude's permission requests as the call said: with no
tools allowed, it declines a command and a file change, so nothing runs unattended."""
import json

from fixtures.fakes.sse_server import text, tool


def _detached_turn(claude, job_store, folder, *options):
    """Runs a turn that wants a command and a file write, detached in `folder`; returns (its --result
    envelope, its job record, what happened: which of the two effects exist)."""
    folder.mkdir()
    claude.fake.add(tool("Bash", {"command": f"touch {folder}/command-ran", "description": "make a marker file"}),
                    tool("Write", {"file_path": str(folder / "written.txt"), "content": "hi there\n"}),
                    text("done"))
    detached = claude("--json", "--detach", *options, "--cwd", str(folder), "change things while nobody watches")
    assert detached.returncode == 0, detached.stderr
    job_id = detached.envelope["job_id"]
    result = claude("--json", "--result", job_id, "--timeout", "90", trace=False)
    assert result.returncode == 0, result.stderr
    record = json.loads((job_store / f"{job_id}.json").read_text())
    happened = {"command": (folder / "command-ran").exists(), "file change": (folder / "written.txt").exists()}
    return result.envelope, record, happened


def _decisions(envelope):
    return [(approval["request"].split(":")[0], approval["decision"], approval["decided_by"])
            for approval in envelope.get("approvals", [])]


def test_a_detached_turn_without_a_policy_declines_everything_and_runs_nothing(claude, tmp_path, private_job_store):
    envelope, record, happened = _detached_turn(claude, private_job_store, tmp_path / "unattended")
    assert _decisions(envelope) == [("Bash", "decline", "policy"), ("Write", "decline", "policy")]
    assert happened == {"command": False, "file change": False}
    assert record["policy"]["allowed_tools"] == [] and _decisions(record["envelope"]) == _decisions(envelope)

    # The same turn with both tools allowed does both: the declines above are the policy's, not a broken setup.
    envelope, record, happened = _detached_turn(claude, private_job_store, tmp_path / "allowed",
                                                "--allowed-tools", "Bash", "--allowed-tools", "Write")
    assert _decisions(envelope) == []   # allowed tools are not asked about
    assert happened == {"command": True, "file change": True}
    assert record["policy"]["allowed_tools"] == ["Bash", "Write"]
