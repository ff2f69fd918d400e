"""What an agent hit on first use (issue 11), each against the real claude CLI."""
import json
import subprocess
import sys

from tests.claude.conftest import started_argv
from fixtures.fakes.sse_server import error, hang, text, tool
from tests.helpers import CLAUDE_BIN, CLAUDE_SCRIPT, assert_clean_exit_when_stdout_closes, validate_envelope


def test_prompt_that_is_not_utf8_is_a_bad_argument_at_once(claude):
    result = subprocess.run([sys.executable, str(CLAUDE_SCRIPT), "--json", b"caf\xe9"], capture_output=True,
                            timeout=60, env=claude.env, cwd=claude.workdir)
    assert result.returncode == 2
    assert claude.fake.requests == [], "refused before claude started"
    envelope = validate_envelope(json.loads(result.stdout), "claude-cli-client")
    assert envelope["status"] == "bad_arguments" and "not UTF-8" in envelope["error"]
    assert b"Traceback" not in result.stderr
    assert claude.fake.requests == []


def test_reader_closing_stdout_early_is_a_clean_exit(claude):
    claude.fake.add(text("line of the answer\n" * 2000, chunks=200, gap=0.002))
    assert_clean_exit_when_stdout_closes([CLAUDE_SCRIPT, "long answer"], env=claude.env, cwd=claude.workdir)


def test_ascii_only_stdout_keeps_json_exact(claude):
    claude.fake.add(text("caf\u00e9 \u2615 done"))
    result = claude("--json", "x", env=dict(claude.env, PYTHONIOENCODING="ascii"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.isascii() and result.envelope["text"] == "caf\u00e9 \u2615 done"


def test_json_schema_file_that_is_not_utf8_is_a_bad_argument(claude, tmp_path):
    schema = tmp_path / "latin1.json"
    schema.write_bytes(b'{"description": "caf\xe9"}')
    result = claude("--json", "--json-schema", str(schema), "x")
    assert result.returncode == 2 and "not UTF-8" in result.envelope["error"]
    assert "Traceback" not in result.stderr
    assert not any(r.get("event") == "start" for r in result.trace)


def test_json_wins_over_no_stream(claude):
    result = claude("--json", "--no-stream", "hello")
    assert result.returncode == 0, result.stderr
    assert len(result.envelopes) == 1 and result.envelope["text"] == "echo: hello"


def test_cost_is_per_turn_and_the_session_total_is_named(claude):
    result = claude("--repl", "--json", stdin="one\ntwo\nthree\n")
    costs = [e["metrics"]["cost_usd"] for e in result.envelopes]
    totals = [e["metrics"]["session_cost_usd"] for e in result.envelopes]
    assert costs[0] > 0 and costs[0] == costs[1] == costs[2], costs
    assert totals == sorted(totals) and abs(totals[2] - sum(costs)) < 1e-9, totals


def test_max_time_ends_a_call_that_claude_keeps_retrying(claude):
    env = {key: value for key, value in claude.env.items() if key != "CLAUDE_CODE_MAX_RETRIES"}
    for _ in range(12):
        claude.fake.add(error(500))
    result = claude("--json", "--max-time", "8", "x", env=env)   # long enough for a retry on a loaded machine
    assert result.returncode == 4
    assert result.envelope["status"] == "timeout" and "--max-time 8s" in result.envelope["error"]
    assert len(claude.fake.requests) >= 2   # it was still retrying when stopped


def test_max_time_covers_starting_claude(claude, tmp_path):
    slow = tmp_path / "slow-claude"
    slow.write_text(f"#!/bin/sh\nsleep 60\nexec '{CLAUDE_BIN}' \"$@\"\n")
    slow.chmod(0o755)
    result = claude("--json", "--max-time", "1", "--claude-bin", str(slow), "x")
    assert result.returncode == 4, result.stderr
    assert result.envelope["status"] == "timeout" and "--max-time 1s" in result.envelope["error"]
    assert claude.fake.requests == []


def test_max_time_keeps_the_text_so_far(claude):
    claude.fake.add(hang("words so far"))
    result = claude("--json", "--max-time", "10", "x")   # the limit covers claude's start: long enough under load
    assert result.returncode == 4 and result.envelope["text"] == "words so far"


def test_tools_that_ran_are_listed(claude):
    claude.fake.add(tool("Bash", {"command": "echo hi", "description": "say hi"}), text("ran it"))
    result = claude("--json", "--allowed-tools", "Bash", "run")
    assert result.returncode == 0, result.stderr
    assert result.envelope["tools"] == [{"tool": "Bash", "request": "Bash: echo hi", "status": "completed"}]
    assert "approvals" not in result.envelope


def test_denial_outside_the_project_says_claudes_reason(claude, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    claude.fake.add(tool("Read", {"file_path": str(outside)}), text("could not read it"))
    result = claude("--json", "read it")
    approval = result.envelope["approvals"][0]
    assert approval["decision"] == "decline"
    assert "outside allowed working directories" in approval["reason"] and "--add-dir" in approval["reason"]
    denial = next(n for n in result.envelope["notifications"] if n["method"] == "permission_denial")
    assert denial["message"]["tool_input"] == {"file_path": str(outside)}


def test_end_of_input_at_the_prompt_is_no_answer(claude, tmp_path):
    marker = tmp_path / "never"
    claude.fake.add(tool("Bash", {"command": f"touch {marker}", "description": "x"}), text("not run"))
    result = claude("--json", "--interactive-approvals", "run it", stdin="")
    assert not marker.exists()
    assert result.envelope["approvals"][0]["decision"] == "decline"
    assert result.envelope["approvals"][0]["decided_by"] == "no_answer"
    claude.fake.add(tool("Bash", {"command": f"touch {marker}", "description": "x"}), text("ran it"))
    claude("--json", "--interactive-approvals", "run it", stdin="y\n")
    assert marker.exists(), "the same call answered yes runs the command"


def test_thread_id_is_an_alias_of_session_id(claude):
    first = claude("--json", "remember pineapple")
    session_id = first.envelope["session_id"]
    second = claude("--json", "--thread-id", session_id, "what was it?")
    assert second.returncode == 0, second.stderr
    assert second.envelope["thread_id"] == second.envelope["session_id"] == session_id
    assert started_argv(second)[-2:] == ["--resume", session_id]


def test_json_schema_file_that_does_not_exist_is_a_bad_argument(claude, tmp_path):
    result = claude("--json", "--json-schema", str(tmp_path / "none.json"), "x")
    assert result.returncode == 2 and "cannot read --json-schema" in result.envelope["error"]
    inline = claude("--json", "--json-schema", '{"type": "object"}', "x")
    assert inline.returncode == 0, inline.stderr


def test_json_schema_answer_is_the_envelopes_output(claude):
    claude.fake.add(tool("StructuredOutput", {"n": 7}), text("done"))
    schema = '{"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}'
    result = claude("--json", "--json-schema", schema, "count")
    assert result.returncode == 0, result.stderr
    assert result.envelope["output"] == {"n": 7}
