"""The review gate, both directions: the plugin installed by the real `claude plugin` / `codex plugin`, the
real host agent ending a turn, its Stop hook running the other real agent's review (fake models), and the
findings blocking the stop until they are fixed."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from fixtures.fakes import anthropic_api
from fixtures.fakes.sse_server import hang, text, tool
from tests.claude.conftest import claude_env, fake_anthropic  # noqa: F401 - fixtures used below
from tests.codex.conftest import CodexServer, fake_model, protocol_schema  # noqa: F401
from tests.helpers import CLAUDE_BIN, CODEX_SCRIPT, ROOT, git
from tests.install_helpers import SkillsClient
from tests.test_plugins import claude_plugin, codex_plugin, run  # noqa: F401

GATE = ROOT / "plugin" / "hooks" / "review_gate.py"
PLANTED = "def add(a, b):\n    return a - b\n"
ORIGINAL = "def add(a, b):\n    return a + b\n"
FIXED = "def add(a, b):\n    return sum((a, b))\n"   # differs from ORIGINAL: the fix is a change to review too


def review(repo, *findings):
    """An answer in codex's review-output format."""
    return {"findings": [{"title": title, "body": body, "confidence_score": 0.9, "priority": priority,
                          "code_location": {"absolute_file_path": str(repo / "calc.py"),
                                            "line_range": {"start": 2, "end": 2}}}
                         for title, body, priority in findings],
            "overall_correctness": "patch is incorrect" if findings else "patch is correct",
            "overall_explanation": "checked.", "overall_confidence_score": 0.8}


SUBTRACTS = ("[P1] add subtracts", "add returns a - b: every caller gets the wrong sum.", 1)
STYLE_NIT = ("[P3] Name could be clearer", "Call it plus.", 3)


@pytest.fixture
def project(tmp_path):
    """A git repository with older uncommitted work (old_work.py), and the gate turned on in it."""
    repo = tmp_path / "project"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "tests@example.invalid")
    git(repo, "config", "user.name", "Tests")
    (repo / "calc.py").write_text(ORIGINAL)
    git(repo, "add", "calc.py")
    git(repo, "commit", "-q", "-m", "calc")
    (repo / "old_work.py").write_text("OLDER = 1\n")
    gate(repo, "on")
    return repo


def gate(repo, *args, stdin=None, env=None):
    done = subprocess.run([sys.executable, str(GATE), *args], cwd=repo, capture_output=True, text=True,
                          input=stdin, env=env, timeout=120)
    return done


def gate_log():
    path = os.path.join(os.environ["XDG_STATE_HOME"], "peer-agents", "review-gate", "log.jsonl")
    return [json.loads(line) for line in open(path)] if os.path.exists(path) else []


def write(path, content):
    return f"printf '%s' '{content}' > {path}"


def result_of(done):
    return [json.loads(line) for line in done.stdout.splitlines() if '"type":"result"' in line][-1]


def review_prompts(fake):
    """What each review asked the reviewing model, as JSON text."""
    return [json.dumps(body) for body in fake.requests if "Review only these files" in json.dumps(body)]


# ----------------------------------------------------------------------------- the setting

def test_the_gate_is_off_by_default_and_one_command_turns_it_on_and_off(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    status = json.loads(gate(repo, "status").stdout)
    assert status["enabled"] is False and status["max_priority"] == 1 and status["max_blocks"] == 2
    on = json.loads(gate(repo, "on", "--max-priority", "0", "--max-blocks", "3").stdout)
    assert on["enabled"] is True and on["max_priority"] == 0 and on["max_blocks"] == 3
    stored = json.loads((repo / ".peer-agents" / "review-gate.json").read_text())
    assert stored["enabled"] is True
    assert git(repo, "check-ignore", ".peer-agents/review-running").strip() == ".peer-agents/review-running"
    assert json.loads(gate(repo, "off").stdout)["enabled"] is False


@pytest.mark.parametrize("args, says", [(["on", "--max-priority", "7"], "a priority must be"),
                                        (["on", "--time-limit", "9999"], "a time limit must be"),
                                        (["sideways"], "invalid choice")])
def test_a_bad_setting_is_one_line_and_exit_2(tmp_path, args, says):
    git(tmp_path, "init", "-q")
    done = gate(tmp_path, *args)
    assert done.returncode == 2 and says in done.stderr and "Traceback" not in done.stderr


def test_outside_a_git_repository_the_setting_is_refused(tmp_path):
    done = gate(tmp_path, "on")
    assert done.returncode == 2 and done.stderr.strip() == (
        "review-gate: not in a git repository (the gate reviews the files a turn changed in one)")


def test_the_claude_code_command_turns_the_gate_on(claude_plugin, claude_env, tmp_path):  # noqa: F811
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    run([CLAUDE_BIN, "-p", "/peer-agents:review-gate on --max-blocks 1", "--output-format", "stream-json",
         "--verbose"], env=claude_env, cwd=repo)
    stored = json.loads((repo / ".peer-agents" / "review-gate.json").read_text())
    assert stored["enabled"] is True and stored["max_blocks"] == 1


# ----------------------------------------------------------------------------- Claude Code, Codex reviews

@pytest.fixture
def codex_reviewer(tmp_path, fake_model, claude_env):  # noqa: F811
    """A real codex app-server for the reviews, named to the hooks through CODEX_APP_SERVER_URI."""
    server = CodexServer(tmp_path / "reviewer-codex-home", fake_model)
    claude_env["CODEX_APP_SERVER_URI"] = server.uri
    yield server
    server.stop()


def claude_turn(env, repo, prompt="change calc", timeout=240):
    return run([CLAUDE_BIN, "-p", prompt, "--output-format", "stream-json", "--verbose", "--allowedTools", "Bash"],
               env=env, cwd=repo, timeout=timeout)


def test_claude_code_is_blocked_once_by_codexs_finding_and_the_fix_passes(
        claude_plugin, claude_env, fake_anthropic, codex_reviewer, fake_model, project):  # noqa: F811
    fake_anthropic.add(tool("Bash", {"command": write("calc.py", PLANTED), "description": "plant"}),
                       text("calc changed"),
                       tool("Bash", {"command": write("calc.py", FIXED), "description": "fix"}),
                       text("calc fixed"))
    fake_model.add(text(json.dumps(review(project, SUBTRACTS))), text(json.dumps(review(project))))
    done = claude_turn(claude_env, project)
    assert result_of(done)["result"] == "calc fixed"
    # The block's reason reached Claude's model as what to fix next.
    fix_request = json.dumps(fake_anthropic.requests[2])
    assert "[P1] add subtracts" in fix_request and "every caller gets the wrong sum" in fix_request
    assert (project / "calc.py").read_text() == FIXED
    # Two reviews, each of the file this turn changed, not of the older uncommitted work.
    prompts = review_prompts(fake_model)
    assert len(prompts) == 2 and all("calc.py" in p and "old_work.py" not in p for p in prompts)
    assert [entry["outcome"] for entry in gate_log()] == ["blocked", "passed"], gate_log()[-1]["detail"]
    assert gate_log()[0]["files"] == ["calc.py"]


def test_a_turn_without_changes_never_starts_the_reviewer(claude_plugin, claude_env, fake_anthropic,  # noqa: F811
                                                          codex_reviewer, fake_model, project):  # noqa: F811
    fake_anthropic.add(text("nothing to change"))
    done = claude_turn(claude_env, project, prompt="just look")
    assert result_of(done)["result"] == "nothing to change"
    assert fake_model.requests == [] and gate_log() == []


def test_a_findings_priority_above_the_limit_does_not_block(claude_plugin, claude_env, fake_anthropic,  # noqa: F811
                                                            codex_reviewer, fake_model, project):  # noqa: F811
    fake_anthropic.add(tool("Bash", {"command": write("calc.py", PLANTED), "description": "plant"}), text("done"))
    fake_model.add(text(json.dumps(review(project, STYLE_NIT))))
    done = claude_turn(claude_env, project)
    assert result_of(done)["result"] == "done" and len(fake_anthropic.requests) == 2
    assert [entry["outcome"] for entry in gate_log()] == ["passed"]


def test_the_blocks_per_session_limit_lets_the_stop_through(claude_plugin, claude_env, fake_anthropic,  # noqa: F811
                                                            codex_reviewer, fake_model, project):  # noqa: F811
    gate(project, "on", "--max-blocks", "1")
    fake_anthropic.add(tool("Bash", {"command": write("calc.py", PLANTED), "description": "plant"}),
                       text("calc changed"), text("I will not fix it"))
    fake_model.add(text(json.dumps(review(project, SUBTRACTS))))
    done = claude_turn(claude_env, project)
    assert result_of(done)["result"] == "I will not fix it"
    assert len(review_prompts(fake_model)) == 1 and [entry["outcome"] for entry in gate_log()] == ["blocked"]


def test_one_turn_can_skip_the_gate(claude_plugin, claude_env, fake_anthropic, codex_reviewer,  # noqa: F811
                                    fake_model, project):  # noqa: F811
    fake_anthropic.add(tool("Bash", {"command": write("calc.py", PLANTED), "description": "plant"}), text("done"))
    done = claude_turn(claude_env, project, prompt="change calc [skip-review]")
    assert result_of(done)["result"] == "done" and fake_model.requests == [] and gate_log() == []


def test_an_unreachable_reviewer_never_blocks(claude_plugin, claude_env, fake_anthropic, project):  # noqa: F811
    claude_env["CODEX_APP_SERVER_URI"] = "ws://127.0.0.1:9"   # nothing listens on the discard port
    fake_anthropic.add(tool("Bash", {"command": write("calc.py", PLANTED), "description": "plant"}), text("done"))
    done = claude_turn(claude_env, project)
    assert result_of(done)["result"] == "done" and len(fake_anthropic.requests) == 2
    [entry] = gate_log()
    assert entry["outcome"] == "reviewer-failed" and "9" in entry["detail"]


def test_a_reviewer_that_hangs_is_stopped_at_the_time_limit(codex_reviewer, fake_model, project):
    """The Stop hook as the host runs it, with a reviewer whose model never finishes."""
    gate(project, "on", "--time-limit", "10")
    gate(project, "prompt", "--reviewer", "codex", stdin=json.dumps({"session_id": "s1", "cwd": str(project)}))
    (project / "calc.py").write_text(PLANTED)
    fake_model.add(hang())
    done = gate(project, "stop", "--reviewer", "codex", stdin=json.dumps({"session_id": "s1", "cwd": str(project)}),
                env=dict(os.environ, CODEX_APP_SERVER_URI=codex_reviewer.uri))
    answer = json.loads(done.stdout)
    assert done.returncode == 0 and "decision" not in answer
    assert "codex could not review" in answer["systemMessage"]
    assert "letting this stop through" in answer["systemMessage"]
    assert gate_log()[0]["outcome"] == "reviewer-failed"


# ----------------------------------------------------------------------------- Codex, Claude reviews

def trusted_hooks_config(codex_home, fake, cwd, schema_folder):
    """The config a codex with the plugin installed needs to run its hooks: the install's own settings,
    and each plugin hook trusted as a person does in /hooks (codex keeps the hash of what was trusted)."""
    installed = "\n" + (codex_home / "config.toml").read_text()
    server = CodexServer(codex_home, fake, extra_config=installed)
    try:
        client = SkillsClient(server, schema_folder)
        listed = client.call("hooks/list", {"cwds": [str(cwd)]})
        client.close()
    finally:
        server.stop()
    hooks = [hook for entry in listed["data"] for hook in entry["hooks"] if hook["source"] == "plugin"]
    assert sorted(hook["eventName"] for hook in hooks) == ["stop", "userPromptSubmit"]
    # hooks/list reports "<hash of the definition>/<hash of its file>"; the trust record holds the first.
    return installed + "".join(f'\n[hooks.state."{hook["key"]}"]\n'
                               f'trusted_hash = "{hook["currentHash"].split("/")[0]}"\n' for hook in hooks)


def claude_reviews_by_the_file(project):
    """Claude's model as reviewer: a P1 finding while calc.py subtracts, none once it does not."""
    def reply(body):
        if anthropic_api.last_tool_result(body) and body["messages"][-1]["role"] == "user" and \
                "tool_result" in json.dumps(body["messages"][-1]):
            return text("review sent")
        planted = (project / "calc.py").read_text() == PLANTED
        return tool("StructuredOutput", review(project, SUBTRACTS) if planted else review(project))
    return reply


@pytest.fixture
def codex_host(codex_plugin, fake_model, claude_env, tmp_path, monkeypatch, project, protocol_schema):  # noqa: F811
    """A real codex app-server with the plugin installed and its hooks trusted; Claude (with the HOME
    claude_env gives it) on its PATH."""
    codex_home, _ = codex_plugin
    monkeypatch.setenv("HOME", str(tmp_path))
    config = trusted_hooks_config(codex_home, fake_model, project, protocol_schema.folder)
    claude_side = {key: claude_env[key] for key in ("ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY", "PATH", "HOME",
                                                    "CLAUDE_CODE_MAX_RETRIES",
                                                    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC")}
    server = CodexServer(codex_home, fake_model, extra_env=claude_side, extra_config=config)
    yield server
    server.stop()


def codex_turn(server, project, prompt="change calc"):
    done = subprocess.run([sys.executable, str(CODEX_SCRIPT), "--uri", server.uri, "--json", "--approve", "commands",
                           "--cwd", str(project), prompt], capture_output=True, text=True, timeout=240)
    return json.loads(done.stdout.strip().splitlines()[-1])


def exec_command(command):
    return tool("exec_command", {"cmd": command, "login": False, "sandbox_permissions": "require_escalated",
                                 "justification": "edit calc"})


def test_codex_is_blocked_once_by_claudes_finding_and_the_fix_passes(
        codex_host, fake_model, fake_anthropic, project):  # noqa: F811
    fake_anthropic.default = claude_reviews_by_the_file(project)
    fake_model.add(exec_command(write("calc.py", PLANTED)), text("calc changed"),
                   exec_command(write("calc.py", FIXED)), text("calc fixed"))
    envelope = codex_turn(codex_host, project)
    assert envelope["status"] == "completed" and envelope["text"].endswith("calc fixed")
    # The block's reason went to Codex's model as what to fix next.
    assert "[P1] add subtracts" in json.dumps(fake_model.requests[2])
    assert (project / "calc.py").read_text() == FIXED
    assert [entry["outcome"] for entry in gate_log()] == ["blocked", "passed"]
    assert all(entry["reviewer"] == "claude" and entry["files"] == ["calc.py"] for entry in gate_log())
    # Claude's cost of each review is reported.
    assert all(entry["cost_usd"] is not None and entry["input_tokens"] for entry in gate_log())


# ----------------------------------------------------------------------------- both gates on at once

def session_states():
    folder = os.path.join(os.environ["XDG_STATE_HOME"], "peer-agents", "review-gate")
    return sorted(name for name in os.listdir(folder) if name.endswith(".json"))


def codex_reviews_by_the_file(project):
    def reply(body):
        planted = (project / "calc.py").read_text() == PLANTED
        return text(json.dumps(review(project, SUBTRACTS) if planted else review(project)))
    return reply


def test_codex_reviewing_for_claude_code_runs_no_gate_of_its_own(
        claude_plugin, claude_env, fake_anthropic, codex_host, fake_model, project):  # noqa: F811
    """Codex has the plugin and its trusted hooks too, in the same project with the gate on: its review
    turn runs none of them (only Claude Code's session has gate state; no review by Claude)."""
    claude_env["CODEX_APP_SERVER_URI"] = codex_host.uri
    fake_model.default = codex_reviews_by_the_file(project)
    fake_anthropic.add(tool("Bash", {"command": write("calc.py", PLANTED), "description": "plant"}),
                       text("calc changed"),
                       tool("Bash", {"command": write("calc.py", FIXED), "description": "fix"}),
                       text("calc fixed"))
    done = claude_turn(claude_env, project)
    assert result_of(done)["result"] == "calc fixed" and len(fake_anthropic.requests) == 4
    assert [(entry["reviewer"], entry["outcome"]) for entry in gate_log()] == [("codex", "blocked"),
                                                                                ("codex", "passed")]
    assert session_states() == [result_of(done)["session_id"] + ".json"]


def test_claude_reviewing_for_codex_runs_no_gate_of_its_own(codex_host, claude_plugin, fake_model,  # noqa: F811
                                                            fake_anthropic, project):  # noqa: F811
    fake_anthropic.default = claude_reviews_by_the_file(project)
    fake_model.add(exec_command(write("calc.py", PLANTED)), text("calc changed"),
                   exec_command(write("calc.py", FIXED)), text("calc fixed"))
    envelope = codex_turn(codex_host, project)
    assert envelope["text"].endswith("calc fixed") and review_prompts(fake_model) == []
    assert [(entry["reviewer"], entry["outcome"]) for entry in gate_log()] == [("claude", "blocked"),
                                                                                ("claude", "passed")]
    assert session_states() == [envelope["thread_id"] + ".json"]


# ----------------------------------------------------------------------------- the Stop hook as the host runs it

def hook(project, event, reviewer, env=None, session="s1"):
    done = gate(project, event, "--reviewer", reviewer, stdin=json.dumps({"session_id": session, "cwd": str(project)}),
                env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


def test_a_missing_reviewer_cli_never_blocks(project, tmp_path):
    """Codex as host, and no claude on PATH: a note, the stop goes through."""
    hook(project, "prompt", "claude")
    (project / "calc.py").write_text(PLANTED)
    lonely = tmp_path / "git-only-bin"
    lonely.mkdir()
    (lonely / "git").symlink_to(shutil.which("git"))
    answer = hook(project, "stop", "claude", env=dict(os.environ, PATH=str(lonely)))
    assert "decision" not in answer and "claude could not review" in answer["systemMessage"]
    assert gate_log()[0]["outcome"] == "reviewer-failed"


def test_the_gate_variable_off_turns_every_hook_off(project):
    off = dict(os.environ, PEER_AGENTS_REVIEW_GATE="off")
    assert hook(project, "prompt", "codex", env=off) is None
    hook(project, "prompt", "codex")
    (project / "calc.py").write_text(PLANTED)
    assert hook(project, "stop", "codex", env=off) is None and gate_log() == []


def test_a_hook_given_no_json_lets_the_stop_through_with_a_note(project):
    done = gate(project, "stop", "--reviewer", "codex", stdin="not json")
    assert done.returncode == 0 and "decision" not in done.stdout
    assert json.loads(done.stdout)["systemMessage"].startswith("review gate: skipped after an error (JSONDecodeError")


def test_past_the_blocks_limit_no_reviewer_starts_and_the_note_says_why(project):
    gate(project, "on", "--max-blocks", "0")
    hook(project, "prompt", "codex")
    (project / "calc.py").write_text(PLANTED)
    answer = hook(project, "stop", "codex", env=dict(os.environ, CODEX_APP_SERVER_URI="ws://127.0.0.1:9"))
    assert answer == {"systemMessage": "review gate: already blocked 0 times this session (the limit, --max-blocks 0); "
                                       "letting this stop through unreviewed"}
    assert gate_log() == []
