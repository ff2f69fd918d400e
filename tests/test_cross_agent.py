"""The two agents calling each other through the installed skills, real binaries end to end.

Only the model APIs are fakes: Claude's model is scripted to run the codex client with its
Bash tool, Codex's model to run the claude client with exec_command; each relays what came back.
"""
import json
import subprocess

from tests.claude.conftest import claude_env, fake_anthropic  # noqa: F401 - fixtures used below
from tests.codex.conftest import CodexServer, fake_model  # noqa: F401
from fixtures.fakes import anthropic_api, responses_api
from fixtures.fakes.sse_server import text, tool
from tests.helpers import CLAUDE_BIN, CODEX_SCRIPT, json_lines, run_script, validate_envelope
from tests.install_helpers import run_install


def _install(project, target, home):
    done = run_install("--project", project, "--target", target, cwd=project, home=home)
    assert done.returncode == 0, done.stderr


def test_claude_asks_codex(tmp_path, claude_env, fake_anthropic, fake_model):  # noqa: F811
    project = tmp_path / "project"
    project.mkdir()
    _install(project, "claude", claude_env["HOME"])
    server = CodexServer(tmp_path / "codex-home", fake_model)
    try:
        fake_model.add(text("codex says: 42"))
        command = (f"python3 .claude/skills/codex-ws-client/scripts/codex_ws_client.py --uri {server.uri} "
                   "--json 'question for codex'")
        fake_anthropic.add(tool("Bash", {"command": command, "description": "Ask Codex"}))
        fake_anthropic.default = lambda body: text("claude relays: " + anthropic_api.last_tool_result(body))
        done = subprocess.run([str(CLAUDE_BIN), "-p", "ask codex", "--output-format", "stream-json", "--verbose",
                               "--allowedTools", "Bash"], cwd=project, env=claude_env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=120)
    finally:
        server.stop()
    assert responses_api.last_user_text(fake_model.requests[-1]) == "question for codex"
    relayed = anthropic_api.last_tool_result(fake_anthropic.requests[-1])
    codex_envelope = validate_envelope(json.loads(relayed.strip().splitlines()[-1]), "codex-ws-client")
    assert codex_envelope["text"] == "codex says: 42" and codex_envelope["status"] == "completed"
    result = [m for m in json_lines(done.stdout) if m.get("type") == "result"][-1]
    assert result["is_error"] is False and "codex says: 42" in result["result"]


def test_codex_asks_claude(tmp_path, claude_env, fake_anthropic, fake_model):  # noqa: F811
    project = tmp_path / "project"
    project.mkdir()
    _install(project, "codex", claude_env["HOME"])
    claude_side = {key: claude_env[key] for key in ("HOME", "ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY",
                                                    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "PATH")}
    server = CodexServer(tmp_path / "codex-home", fake_model, extra_env=claude_side)
    try:
        command = "python3 .codex/skills/claude-cli-client/scripts/claude_cli_client.py --json 'question for claude'"
        # login=False: a login shell would reset PATH, and claude is found through the server's PATH.
        fake_model.add(tool("exec_command", {"cmd": command, "login": False, "sandbox_permissions": "require_escalated",
                                             "justification": "ask Claude"}))
        fake_model.default = lambda body: text("codex relays: " + responses_api.last_function_output(body))
        result = run_script(CODEX_SCRIPT, ["--uri", server.uri, "--json", "--approve", "commands",
                                           "--cwd", str(project), "ask claude"], timeout=120)
    finally:
        server.stop()
    envelope = validate_envelope(json.loads(result.stdout), "codex-ws-client")
    assert anthropic_api.last_user_text(fake_anthropic.requests[-1]) == "question for claude"
    assert envelope["status"] == "completed", result.stderr
    assert envelope["commands"][0]["exit_code"] == 0 and "claude_cli_client.py" in envelope["commands"][0]["command"]
    assert "echo: question for claude" in envelope["text"] and envelope["text"].startswith("codex relays: ")
