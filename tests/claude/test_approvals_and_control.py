"""Tool permissions over the control protocol, Ctrl-C, timeouts, diagnostics."""
import json
import os
import re
import shlex
import signal
import subprocess
import sys

import pytest

from tests.claude.conftest import start_client, started_argv, wait_for_text_in_trace
from fixtures.fakes.sse_server import hang, text, tool
from tests.helpers import CLAUDE_SCRIPT, git, json_lines, start_as_background_job, validate_envelope


def _bash(marker):
    return tool("Bash", {"command": f"touch {marker}", "description": "make a marker file"})


def _group_gone(trace_records):
    """True when the process group of every claude the client started has ended."""
    for record in trace_records:
        if record.get("event") == "start":
            try:
                os.killpg(record["pid"], 0)
                return False
            except ProcessLookupError:
                pass
    return True


def test_tools_are_denied_by_default(claude, tmp_path):
    marker = tmp_path / "denied"
    claude.fake.add(_bash(marker), text("I could not run it"))
    result = claude("--json", "run it")
    assert result.returncode == 0, result.stderr
    assert not marker.exists()
    envelope = result.envelope
    assert envelope["approvals"] == [{"kind": "tool", "request": f"Bash: touch {marker}",
                                      "decision": "decline", "decided_by": "policy",
                                      "reason": f"blocked path: {marker} (--add-dir {tmp_path} --permission-mode "
                                                f"acceptEdits lets it run, or --allowed-tools Bash)"}]
    assert envelope["tools"] == [{"tool": "Bash", "request": f"Bash: touch {marker}", "status": "declined"}]
    denial = [n for n in envelope["notifications"] if n["method"] == "permission_denial"]
    assert denial and denial[0]["message"]["tool_input"]["command"] == f"touch {marker}"
    asks = [r["msg"] for r in result.trace if r["dir"] == "in" and r["msg"].get("type") == "control_request"]
    assert asks[0]["request"]["subtype"] == "can_use_tool" and asks[0]["request"]["tool_name"] == "Bash"
    claude.fake.add(_bash(marker), text("ran it"))
    assert claude("--json", "--allowed-tools", "Bash", "run it").returncode == 0
    assert marker.exists(), "the same call with Bash allowed runs the command"


def _options_that_let_it_run(reason):
    """Each set of options a declined tool's reason names, e.g. '(--add-dir D lets it run, or --allowed-tools Bash)'."""
    named = re.search(r"\((.+) lets it run(?:, or (.+))?\)$", reason)
    assert named, reason
    return [shlex.split(options) for options in named.groups() if options]


@pytest.mark.parametrize("case", ["Bash writes in the project", "Bash writes elsewhere", "Write in the project",
                                  "Write elsewhere", "Read elsewhere"])
def test_a_declined_tool_names_the_options_that_let_it_run_and_they_do(claude, workdir, tmp_path, case):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "notes.txt").write_text("notes")
    folder = workdir if case.endswith("in the project") else elsewhere
    target = folder / ("notes.txt" if case == "Read elsewhere" else "written.txt")
    if case.startswith("Bash"):
        use = tool("Bash", {"command": f"echo hi > {target.name if folder == workdir else target}",
                            "description": "write a file"})
    else:
        use = tool(case.split()[0], {"file_path": str(target), **({} if case.startswith("Read") else {"content": "hi\n"})})
    claude.fake.add(use, text("not allowed"))
    declined = claude("--json", "do it")
    assert declined.envelope["tools"][0]["status"] == "declined"
    ways = _options_that_let_it_run(declined.envelope["approvals"][0]["reason"])
    assert ["--add-dir", str(workdir)] not in ways   # the project is claude's own directory already
    if case.startswith("Bash"):
        assert ["--allowed-tools", "Bash"] in ways and any("acceptEdits" in options for options in ways)
    for options in ways:
        claude.fake.add(use, text("done"))
        ran = claude("--json", *options, "do it")
        assert ran.envelope["tools"][0]["status"] == "completed", (options, ran.envelope)
        if case != "Read elsewhere":
            assert target.read_text() == "hi\n"
            target.unlink()


@pytest.mark.parametrize("name, tool_input, asks", [
    ("Bash", {"command": "ls -la && pwd && git status && git log -1", "description": "look"}, False),
    ("Read", {"file_path": "{work}/notes.txt"}, False),
    ("Bash", {"command": "echo hi > written.txt", "description": "write"}, True),
    ("Write", {"file_path": "{work}/written.txt", "content": "x"}, True),
    ("Bash", {"command": "python3 -c pass", "description": "run"}, True),
    ("Read", {"file_path": "{elsewhere}/notes.txt"}, True),
])
def test_what_claudes_default_mode_runs_unasked(claude, workdir, tmp_path, name, tool_input, asks):
    """What SKILL.md says runs without a permission request: reading the project, and nothing else."""
    (tmp_path / "elsewhere").mkdir()
    for folder in (workdir, tmp_path / "elsewhere"):
        (folder / "notes.txt").write_text("notes")
    git(workdir, "init", "-q")
    git(workdir, "-c", "user.name=T", "-c", "user.email=t@example.invalid", "commit", "-q", "--allow-empty", "-m", "x")
    tool_input = {key: value.format(work=workdir, elsewhere=tmp_path / "elsewhere") for key, value in tool_input.items()}
    claude.fake.add(tool(name, tool_input), text("done"))
    result = claude("--json", "go")
    used, = result.envelope["tools"]
    assert (used["status"], "approvals" in result.envelope) == (("declined", True) if asks else ("completed", False))
    assert not (workdir / "written.txt").exists()


def test_interactive_approval_runs_the_command_for_real(claude, tmp_path):
    marker = tmp_path / "approved"
    claude.fake.add(_bash(marker), text("ran it"))
    result = claude("--repl", "--json", "--interactive-approvals", stdin="please run\ny\n")
    assert result.returncode == 0, result.stderr
    assert marker.exists()
    assert "Allow? [y/N]" in result.stderr
    approval = result.envelopes[0]["approvals"][0]
    assert {key: approval[key] for key in ("kind", "request", "decision", "decided_by")} == \
        {"kind": "tool", "request": f"Bash: touch {marker}", "decision": "accept", "decided_by": "user"}


def test_interactive_approval_in_one_shot_mode(claude, tmp_path):
    marker = tmp_path / "declined"
    claude.fake.add(_bash(marker), text("did not run"))
    result = claude("--json", "--interactive-approvals", "run it", stdin="n\n")
    assert not marker.exists()
    assert result.envelope["approvals"][0]["decision"] == "decline"
    claude.fake.add(_bash(marker), text("ran it"))
    claude("--json", "--interactive-approvals", "run it", stdin="y\n")
    assert marker.exists(), "the same call answered yes runs the command"


@pytest.mark.parametrize("stdin, stdin_saying_yes, args", [
    ("please run\n\n", "please run\ny\n", ["--repl"]),   # an empty answer line
    ("", "y\n", ["run it"])])                            # the end of input
def test_interactive_approval_empty_answer_or_end_of_input_denies(claude, tmp_path, stdin, stdin_saying_yes,
                                                                   args):
    marker = tmp_path / "not-approved"
    claude.fake.add(_bash(marker), text("did not run"))
    result = claude("--json", "--interactive-approvals", *args, stdin=stdin)
    assert "Allow? [y/N]" in result.stderr
    assert not marker.exists()
    assert result.envelopes[0]["approvals"][0]["decision"] == "decline"
    answers = [r["msg"]["response"] for r in result.trace if r["dir"] == "out" and r["msg"]["type"] == "control_response"]
    assert answers[0]["response"]["behavior"] == "deny"
    claude.fake.add(_bash(marker), text("ran it"))
    claude("--json", "--interactive-approvals", *args, stdin=stdin_saying_yes)
    assert marker.exists(), "the same call answered yes runs the command"


def _control_requests_and_answers(trace):
    asked = {r["msg"]["request_id"]: r["msg"]["request"] for r in trace
             if r["dir"] == "in" and r["msg"].get("type") == "control_request"}
    answered = {r["msg"]["response"]["request_id"]: r["msg"]["response"] for r in trace
                if r["dir"] == "out" and r["msg"].get("type") == "control_response"}
    return asked, answered


def test_other_control_requests_get_an_error_answer(claude, tmp_path):
    # claude asks the program that started it to run an "sdk" MCP server's side (mcp_message requests).
    mcp = tmp_path / "mcp.json"
    mcp.write_text(json.dumps({"mcpServers": {"in-host": {"type": "sdk", "name": "in-host"}}}))
    result = claude("--json", "--mcp-config", str(mcp), "hello")
    assert result.returncode == 0, result.stderr
    assert result.envelope["text"] == "echo: hello"
    asked, answered = _control_requests_and_answers(result.trace)
    assert asked and {request["subtype"] for request in asked.values()} == {"mcp_message"}
    for request_id in asked:
        assert answered[request_id] == {"subtype": "error", "request_id": request_id,
                                        "error": "claude-cli-client does not support 'mcp_message'"}


def test_allowed_tools_stay_allowed_without_asking(claude, tmp_path):
    marker = tmp_path / "allowed"
    claude.fake.add(_bash(marker), text("ran it"))
    result = claude("--json", "--allowed-tools", "Bash", "run it")
    assert marker.exists()
    assert "approvals" not in result.envelope
    assert started_argv(result)[-2:] == ["--allowedTools", "Bash"]


def test_ctrl_c_interrupts_keeps_text_and_leaves_nothing_running(claude_env, fake_anthropic, workdir, tmp_path):
    fake_anthropic.add(hang("the text so far"))
    trace = tmp_path / "trace.jsonl"
    client = start_client(claude_env, workdir, trace, "long")
    wait_for_text_in_trace(trace, "the text so far")
    client.send_signal(signal.SIGINT)
    out, err = client.communicate(timeout=30)
    assert client.returncode == 130, err
    envelope = validate_envelope(json_lines(out)[0], "claude-cli-client")
    assert envelope["status"] == "interrupted" and envelope["text"] == "the text so far"
    sent = [r["msg"] for r in json_lines(trace.read_text()) if r["dir"] == "out"]
    assert any(m.get("request", {}).get("subtype") == "interrupt" for m in sent)
    assert _group_gone(json_lines(trace.read_text()))


def test_sigint_interrupts_a_client_started_in_the_background(claude_env, fake_anthropic, workdir, tmp_path):
    fake_anthropic.add(hang("the partial answer"))
    trace = tmp_path / "trace.jsonl"
    shell, pid = start_as_background_job([sys.executable, str(CLAUDE_SCRIPT), "--json", "--ndjson-file", str(trace),
                                          "long"], env=claude_env, cwd=workdir)
    wait_for_text_in_trace(trace, "the partial answer")
    os.kill(pid, signal.SIGINT)
    out, err = shell.communicate(timeout=30)
    assert shell.returncode == 130, err
    envelope = validate_envelope(json_lines(out)[0], "claude-cli-client")
    assert envelope["status"] == "interrupted" and envelope["text"] == "the partial answer"
    assert _group_gone(json_lines(trace.read_text()))


def test_timeout_ends_the_claude_process(claude):
    claude.fake.add(hang())
    result = claude("--json", "--timeout", "2", "stall")
    assert result.returncode == 4 and result.envelope["status"] == "timeout"
    assert "--timeout" in result.envelope["error"]
    assert _group_gone(result.trace)


def test_verbose_and_trace(claude):
    result = claude("-vv", "x")
    assert "[claude-cli-client] starting" in result.stderr
    assert any(line.startswith('> {"type": "user"') for line in result.stderr.splitlines())
    received = [json.loads(line[2:]) for line in result.stderr.splitlines() if line.startswith("< {")]
    assert any(message.get("type") == "result" for message in received)
    kinds = {(r["dir"], r.get("event")) for r in result.trace}
    assert ("event", "start") in kinds and ("out", None) in kinds and ("in", None) in kinds
    start = next(r for r in result.trace if r.get("event") == "start")
    assert start["argv"][1:4] == ["-p", "--input-format", "stream-json"] and start["cwd"] is None
    # The trace and -vv show the same lines, each way, in the same order.
    for direction, arrow in (("out", "> "), ("in", "< ")):
        shown = [json.loads(line[2:]) for line in result.stderr.splitlines() if line.startswith(arrow)]
        assert [r["msg"] for r in result.trace if r["dir"] == direction] == shown


def test_max_time_ends_a_call_waiting_for_a_person_to_approve(claude_env, fake_anthropic, workdir, tmp_path):
    marker = tmp_path / "never"
    fake_anthropic.add(_bash(marker), text("not reached"))
    trace = tmp_path / "trace.jsonl"
    client = subprocess.Popen([sys.executable, str(CLAUDE_SCRIPT), "--json", "--ndjson-file", str(trace),
                               "--interactive-approvals", "--max-time", "5", "run it"], env=claude_env, cwd=workdir,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:   # stdin stays open and nobody answers the question
        client.wait(timeout=60)
    finally:
        client.kill()
        out, err = client.communicate()
    assert client.returncode == 4, err
    envelope = validate_envelope(json_lines(out)[0], "claude-cli-client")
    assert envelope["status"] == "timeout" and "--max-time 5s" in envelope["error"]
    assert "Allow? [y/N]" in err and not marker.exists()
