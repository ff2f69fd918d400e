"""Many prompts in one gemini process, and permissions a person answers."""
from fixtures.fakes.sse_server import text, tool
from tests.acp.conftest import MODEL
from tests.helpers import ACP_SCRIPT, json_lines, run_on_terminal


def test_repl_keeps_one_agent_and_new_opens_another_session(acp):
    result = acp("--repl", "--json", stdin="first\nsecond\n/session\n/new\nthird\n/exit\n")
    assert result.returncode == 0, result.stderr
    lines = json_lines(result.stdout)
    first, second, shown, new, third = lines
    assert [first["text"], second["text"], third["text"]] == ["echo: first", "echo: second", "echo: third"]
    assert first["session_id"] == second["session_id"] == shown["session_id"]
    assert new["session_id"] == third["session_id"] != first["session_id"]
    assert [r.get("event") for r in result.trace].count("start") == 1


def test_a_person_allows_a_command_at_the_terminal(gemini_env, fake_gemini, workdir):
    fake_gemini.add(tool("run_shell_command", {"command": "echo made > made.txt"}), text("made it"))
    code, screen, stdout = run_on_terminal(
        [ACP_SCRIPT, "--json", "--model", MODEL, "--interactive-approvals", "make a file"], env=gemini_env,
        cwd=workdir, timeout=90, person=("Allow? [y/N]", "y\n", 0))
    assert code == 0, screen
    assert "echo made > made.txt" in screen
    envelope = json_lines(stdout)[-1]
    assert envelope["approvals"][0]["decision"] == "accept" and envelope["approvals"][0]["decided_by"] == "user"
    assert (workdir / "made.txt").read_text() == "made\n"


def test_no_answer_rejects(acp):
    acp.fake.add(tool("run_shell_command", {"command": "echo made > made.txt"}), text("not made"))
    result = acp("--json", "--interactive-approvals", "make a file", stdin="")
    assert result.returncode == 0, result.stderr
    approval, = result.envelope["approvals"]
    assert approval["decision"] == "decline" and approval["decided_by"] == "no_answer"
    assert not (acp.workdir / "made.txt").exists()
