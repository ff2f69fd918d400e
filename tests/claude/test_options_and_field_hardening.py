"""Pass-through options, resuming where a session was made, nested sessions, big answers, versions."""
import json
from pathlib import Path

from tests.claude.conftest import started_argv
from fixtures.fakes.claude_stand_in import write_stand_in_claude
from fixtures.fakes.sse_server import text
from tests.helpers import installed_version


def test_pass_through_options_reach_claude(claude, tmp_path):
    extra = tmp_path / "extra"
    extra.mkdir()
    settings = tmp_path / "settings.json"
    settings.write_text("{}")
    mcp = tmp_path / "mcp.json"
    mcp.write_text('{"mcpServers": {}}')
    plugin = tmp_path / "plugin"
    plugin.mkdir()
    schema = json.dumps({"type": "object", "properties": {"a": {"type": "string"}}})
    result = claude("--json", "--model", "claude-test-model", "--permission-mode", "plan",
                    "--system-prompt", "SYSTEM-MARK", "--append-system-prompt", "APPENDED-MARK",
                    "--effort", "low", "--fallback-model", "claude-fallback", "--max-budget-usd", "5",
                    "--disable-slash-commands", "--add-dir", str(extra), "--allowed-tools", "Read",
                    "--disallowed-tools", "WebFetch", "--mcp-config", str(mcp), "--plugin-dir", str(plugin),
                    "--settings", str(settings), "--setting-sources", "user", "--json-schema", schema, "x")
    assert result.returncode == 0, result.stderr
    assert result.envelope["status"] == "completed" and result.envelope["exit_code"] == 0
    argv = started_argv(result)
    pairs = [("--model", "claude-test-model"), ("--permission-mode", "plan"), ("--system-prompt", "SYSTEM-MARK"),
             ("--append-system-prompt", "APPENDED-MARK"), ("--effort", "low"),
             ("--fallback-model", "claude-fallback"), ("--max-budget-usd", "5"), ("--add-dir", str(extra)),
             ("--allowedTools", "Read"), ("--disallowedTools", "WebFetch"), ("--mcp-config", str(mcp)),
             ("--plugin-dir", str(plugin)), ("--settings", str(settings)), ("--setting-sources", "user"),
             ("--json-schema", schema)]
    for option, value in pairs:
        assert argv[argv.index(option) + 1] == value, option
    assert "--disable-slash-commands" in argv
    body = claude.fake.requests[-1]
    assert body["model"] == "claude-test-model"
    assert "SYSTEM-MARK" in json.dumps(body.get("system")) and "APPENDED-MARK" in json.dumps(body.get("system"))


def test_an_effort_claude_does_not_know_is_exit_2_before_claude_starts(claude):
    # claude itself only warns on stderr ("Unknown --effort value") and runs with its default effort.
    result = claude("--json", "--effort", "bogus", "x")
    assert result.returncode == 2 and "--effort" in result.envelope["error"], result.envelope
    assert "low, medium, high, xhigh, max" in result.envelope["error"].replace("'", "")
    assert not any(r.get("event") == "start" for r in result.trace) and not claude.fake.requests


def test_agent_option_passes_through(claude):
    result = claude("--json", "--agent", "reviewer", "x")
    assert result.returncode == 0 and result.envelope["status"] == "completed", result.stderr
    argv = started_argv(result)
    assert argv[argv.index("--agent") + 1] == "reviewer"


def test_resume_finds_the_sessions_own_directory(claude, tmp_path):
    made_in = claude.workdir
    first = claude("--json", "remember pineapple")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    resumed = claude("--json", "-v", "--session-id", first.envelope["session_id"], "again", cwd=elsewhere)
    assert resumed.returncode == 0, resumed.stderr
    assert f"in its own directory {made_in}" in resumed.stderr
    assert "remember pineapple" in json.dumps(claude.fake.requests[-1]["messages"])


def test_resume_in_the_wrong_directory_says_why(claude, tmp_path):
    first = claude("--json", "x")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = claude("--json", "--cwd", str(elsewhere), "--session-id", first.envelope["session_id"], "again")
    if result.returncode == 0:   # newer claude releases (2.1.332) find a session from any directory
        assert result.envelope["session_id"] == first.envelope["session_id"]
    else:
        assert result.returncode == 1 and "directory it was created in" in result.envelope["error"]


def test_unknown_session_is_exit_1_never_a_new_session(claude):
    result = claude("--json", "--session-id", "7e063d6e-4c27-4b80-95ce-f6bd971082ff", "x")
    assert result.returncode == 1 and "no claude session" in result.envelope["error"]
    assert claude.fake.requests == []


def test_works_from_inside_a_claude_code_session(claude):
    nested = dict(claude.env, CLAUDECODE="1", CLAUDE_CODE_ENTRYPOINT="cli")
    result = claude("--json", "-vv", "from a nested agent", env=nested)
    assert result.returncode == 0, result.stderr
    assert result.envelope["text"] == "echo: from a nested agent"


def test_max_text_keeps_the_whole_answer_in_a_file(claude, tmp_path):
    answer = "word " * 20000
    claude.fake.add(text(answer, chunks=10))
    result = claude("--json", "--max-text", "300", "big")
    envelope = result.envelope
    assert envelope["text_truncated"] is True and len(envelope["text"]) < 500
    with open(envelope["text_file"], encoding="utf-8") as handle:
        assert handle.read() == answer


def test_version_is_reported_and_pinned_version_not_warned(claude):
    result = claude("--json", "x")
    assert result.envelope["claude_version"] == installed_version("@anthropic-ai/claude-code")
    assert "warning: claude" not in result.stderr


def _claude_claiming_version(path, version):
    """A stand-in claude that answers initialize and each turn like the real one, claiming `version`."""
    init = {"type": "system", "subtype": "init", "session_id": "s-1", "claude_code_version": version}
    result_line = {"type": "result", "subtype": "success", "is_error": False, "result": "ok", "session_id": "s-1",
                   "uuid": "u-1", "usage": {}}
    return write_stand_in_claude(path, [json.dumps(init), json.dumps(result_line)])


def test_older_versions_are_warned_about_once(claude, tmp_path):
    fake = _claude_claiming_version(tmp_path / "old-claude", "1.0.0")
    result = claude("--repl", "--json", "--claude-bin", fake, stdin="one\ntwo\n")
    assert [e["text"] for e in result.envelopes] == ["ok", "ok"]
    assert result.stderr.count("older than the oldest version") == 1 and "1.0.0" in result.stderr


def test_newer_versions_are_not_warned_about(claude, tmp_path):
    fake = _claude_claiming_version(tmp_path / "new-claude", "2.1.332")
    result = claude("--json", "-v", "--claude-bin", fake, "x")
    assert result.envelope["text"] == "ok"
    assert "warning" not in result.stderr


def test_claude_never_waits_for_stdin_data(claude):
    """The pinned CLI waits 3 s when -p gets no stdin data; stream-json input never triggers that."""
    result = claude("--json", "-vv", "quick")
    stderr_lines = [r["line"] for r in result.trace if r.get("event") == "stderr"]
    assert not any("no stdin data" in line for line in stderr_lines)
    assert "no stdin data" not in result.stderr
    assert result.envelope["status"] == "completed"


def test_a_session_id_that_is_not_one_is_a_bad_argument(claude):
    result = claude("--json", "--session-id", "../elsewhere", "x")
    assert result.returncode == 2 and "is not a session id" in result.envelope["error"]


def test_session_files_without_a_directory_are_skipped(claude):
    session_id = "7e063d6e-4c27-4b80-95ce-f6bd971082ff"
    projects = Path(claude.env["HOME"]) / ".claude" / "projects"
    (projects / "unreadable" / f"{session_id}.jsonl").mkdir(parents=True)   # a folder, not a file
    (projects / "no-cwd").mkdir()
    (projects / "no-cwd" / f"{session_id}.jsonl").write_text('not json\n{"type": "summary"}\n')
    result = claude("--json", "--session-id", session_id, "x")
    assert result.returncode == 1 and f"no claude session {session_id}" in result.envelope["error"]
    assert claude.fake.requests == []


def test_resume_reads_past_lines_that_are_not_json(claude, tmp_path):
    first = claude("--json", "remember pineapple")
    session_id = first.envelope["session_id"]
    [session_file] = (Path(claude.env["HOME"]) / ".claude" / "projects").glob(f"*/{session_id}.jsonl")
    session_file.write_text("a line that is not JSON\n" + session_file.read_text())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    resumed = claude("--json", "-v", "--session-id", session_id, "again", cwd=elsewhere)
    assert f"in its own directory {claude.workdir}" in resumed.stderr
    assert resumed.returncode == 0, resumed.stderr
