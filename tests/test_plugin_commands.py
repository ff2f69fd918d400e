"""The plugin's commands for people. In Claude Code each `/peer-agents:NAME` runs as written: the real
claude, with the plugin installed by `claude plugin install`, expands the command and hands it to a
fake model, which answers as the command tells it (one Bash call of our script); the script then
talks to a real codex app-server on a fake model. Codex has no plugin commands: a person there
invokes the skills by name, and the Claude Code commands must not turn into Codex skills."""
import json
import re
import subprocess
import sys

import pytest

from fixtures.fakes import anthropic_api, responses_api
from fixtures.fakes.sse_server import hang, text, tool
from tests.claude.conftest import claude_env, fake_anthropic  # noqa: F401 - fixtures used below
from tests.codex.conftest import CodexServer, fake_model, protocol_schema  # noqa: F401
from tests.helpers import CLAUDE_BIN, CODEX_SCRIPT, ROOT, SKILLS, repository_with_changes, review_output
from tests.install_helpers import SkillsClient
from tests.test_plugins import PLUGIN, SKILL_NAMES, claude_plugin, codex_plugin, run  # noqa: F401

COMMANDS = ROOT / "plugin" / "commands"
COMMAND_NAMES = ["cancel", "codex", "doctor", "jobs", "result", "review"]
SCRIPT_CALL = re.compile(r'python3 "([^"]+/skills/codex-ws-client/scripts/codex_ws_client\.py)"')


def front_matter(name):
    head = (COMMANDS / f"{name}.md").read_text().split("---\n")[1]
    return dict(line.split(": ", 1) for line in head.splitlines())


def bash_running_the_script(arguments):
    """A fake Anthropic model that does what a command says: it runs the codex client the expanded
    command names, with `arguments`, then relays the output it got."""
    def answer(body):
        output = anthropic_api.last_tool_result(body)
        if output:
            return text("relayed: " + output)
        script = SCRIPT_CALL.search("\n".join(anthropic_api.all_user_texts(body))).group(1)
        return tool("Bash", {"command": f'python3 "{script}" {arguments}', "description": "run the command"})
    return answer


def run_command(command_line, env, cwd):
    """`claude -p COMMAND_LINE` with no --allowedTools: only the command's own allowed-tools apply."""
    done = run([CLAUDE_BIN, "-p", command_line, "--output-format", "stream-json", "--verbose"], env=env,
               cwd=cwd, timeout=180)
    return [json.loads(line) for line in done.stdout.splitlines()]


def final_result(messages):
    return next(message for message in reversed(messages) if message.get("type") == "result")


def expanded_command(fake):
    """What the model was given for the command: the command's body with the user's arguments."""
    return "\n".join(anthropic_api.all_user_texts(fake.requests[0]))


def script_output(fake):
    """The Bash tool's output, as claude sent it back to the model."""
    return anthropic_api.last_tool_result(fake.requests[-1])


@pytest.fixture
def codex_behind_claude(claude_plugin, claude_env, fake_model, tmp_path):  # noqa: F811
    """claude's environment, in which the codex client finds a real app-server on the fake model."""
    server = CodexServer(tmp_path / "codex-home", fake_model)
    yield dict(claude_env, CODEX_APP_SERVER_URI=server.uri)
    server.stop()


# ----------------------------------------------------------------------------- the files

def test_every_command_is_one_short_line_for_people():
    every_command = sorted(path.stem for path in COMMANDS.glob("*.md"))
    assert set(COMMAND_NAMES) <= set(every_command)
    for name in every_command:
        fields = front_matter(name)
        assert len(fields["description"].split()) <= 12, name
        assert fields["disable-model-invocation"] == "true", name


def test_each_command_may_run_only_the_codex_client():
    for name in COMMAND_NAMES:
        fields = front_matter(name)
        assert fields["allowed-tools"] == ('Bash(python3 "${CLAUDE_PLUGIN_ROOT}/skills/codex-ws-client/scripts/'
                                           'codex_ws_client.py":*)'), name
        # Codex turns a plugin's command files into skills unless they take arguments ($ARGUMENTS).
        assert "$ARGUMENTS" in (COMMANDS / f"{name}.md").read_text(), name


# ----------------------------------------------------------------------------- Claude Code

def test_claude_offers_the_commands_to_people_but_not_to_its_model(claude_plugin, claude_env,  # noqa: F811
                                                                    fake_anthropic, tmp_path):  # noqa: F811
    messages = run_command("hello", claude_env, tmp_path)
    init = next(message for message in messages if message.get("subtype") == "init")
    assert {f"{PLUGIN}:{name}" for name in COMMAND_NAMES} <= set(init["slash_commands"])
    sent_to_the_model = json.dumps(fake_anthropic.requests[0])
    assert f"{PLUGIN}:codex-ws-client" in sent_to_the_model
    for name in COMMAND_NAMES:
        assert front_matter(name)["description"] not in sent_to_the_model, name


def test_doctor_command(codex_behind_claude, fake_anthropic, tmp_path):  # noqa: F811
    fake_anthropic.default = bash_running_the_script("--doctor")
    messages = run_command(f"/{PLUGIN}:doctor", codex_behind_claude, tmp_path)
    assert SCRIPT_CALL.search(expanded_command(fake_anthropic))
    assert "--doctor" in expanded_command(fake_anthropic)
    assert codex_behind_claude["CODEX_APP_SERVER_URI"] in script_output(fake_anthropic)
    assert final_result(messages)["permission_denials"] == []


def test_codex_command_asks_codex(codex_behind_claude, fake_anthropic, fake_model, tmp_path):  # noqa: F811
    fake_model.add(text("codex says: 42"))
    fake_anthropic.default = bash_running_the_script("--json --max-time 540 'what is six times seven?'")
    messages = run_command(f"/{PLUGIN}:codex what is six times seven?", codex_behind_claude, tmp_path)
    prompt = expanded_command(fake_anthropic)
    assert "The user's input: what is six times seven?" in prompt and "`--max-time 540`" in prompt
    assert responses_api.last_user_text(fake_model.requests[-1]) == "what is six times seven?"
    assert json.loads(script_output(fake_anthropic))["text"] == "codex says: 42"
    assert "codex says: 42" in final_result(messages)["result"]


def test_review_command_runs_an_adversarial_review(codex_behind_claude, fake_anthropic, fake_model,  # noqa: F811
                                                    tmp_path):
    repo = repository_with_changes(tmp_path / "repo")
    fake_model.add(text(json.dumps(review_output(repo))))
    fake_anthropic.default = bash_running_the_script("--json --max-time 540 --review --review-style adversarial")
    run_command(f"/{PLUGIN}:review --review-style adversarial", codex_behind_claude, repo)
    prompt = expanded_command(fake_anthropic)
    assert "add `--review`" in prompt and "--json --max-time 540 [--review] --review-style adversarial" in prompt
    review = json.loads(script_output(fake_anthropic))["review"]
    assert [finding["priority"] for finding in review["findings"]] == [1, 3]
    assert "assume the change is wrong" in json.dumps(fake_model.requests[-1]).lower()


def test_a_detached_job_is_listed_collected_and_another_cancelled(codex_behind_claude, fake_anthropic,  # noqa: F811
                                                                   fake_model, tmp_path):
    fake_model.add(text("codex done: 42"))
    fake_anthropic.default = bash_running_the_script("--json --detach 'slow question'")
    run_command(f"/{PLUGIN}:codex --detach slow question", codex_behind_claude, tmp_path)
    job_id = json.loads(script_output(fake_anthropic))["job_id"]

    fake_anthropic.reset()
    fake_anthropic.default = bash_running_the_script(f"--json --timeout 100 --result {job_id}")
    run_command(f"/{PLUGIN}:result {job_id}", codex_behind_claude, tmp_path)
    assert f"--result {job_id}" in expanded_command(fake_anthropic)
    assert json.loads(script_output(fake_anthropic))["text"] == "codex done: 42"

    fake_anthropic.reset()
    fake_anthropic.default = bash_running_the_script("--jobs --json")
    run_command(f"/{PLUGIN}:jobs", codex_behind_claude, tmp_path)
    listed = json.loads(script_output(fake_anthropic))["jobs"]
    assert [(job["job_id"], job["status"]) for job in listed] == [(job_id, "completed")]

    fake_model.add(hang("working"))
    started = subprocess.run([sys.executable, str(CODEX_SCRIPT), "--json", "--detach", "endless question"],
                             env=codex_behind_claude, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    endless_job = json.loads(started.stdout)["job_id"]
    fake_anthropic.reset()
    fake_anthropic.default = bash_running_the_script(f"--json --timeout 60 --cancel {endless_job}")
    run_command(f"/{PLUGIN}:cancel {endless_job}", codex_behind_claude, tmp_path)
    output = script_output(fake_anthropic)
    assert output.startswith("Exit code 130")
    assert json.loads(output.splitlines()[1])["status"] == "interrupted"


def test_a_command_runs_no_other_command(codex_behind_claude, fake_anthropic, tmp_path):  # noqa: F811
    planted = tmp_path / "planted"
    fake_anthropic.add(tool("Bash", {"command": f"touch {planted}", "description": "something else"}))
    fake_anthropic.default = lambda body: text("done")
    messages = run_command(f"/{PLUGIN}:doctor", codex_behind_claude, tmp_path)
    assert [denial["tool_input"]["command"] for denial in final_result(messages)["permission_denials"]] == [
        f"touch {planted}"]
    assert not planted.exists()


def test_brainstorm_is_the_skill_invoked_by_name(claude_plugin, claude_env, fake_anthropic, tmp_path):  # noqa: F811
    """No command shadows the brainstorm skill: `/peer-agents:brainstorm TOPIC` hands the model the
    skill's instructions and the topic."""
    fake_anthropic.default = lambda body: text("understood")
    run_command(f"/{PLUGIN}:brainstorm cache in Redis or in process?", claude_env, tmp_path)
    prompt = json.dumps(fake_anthropic.requests[0])
    assert "scripts/brainstorm.py" in prompt and "cache in Redis or in process?" in prompt


# ----------------------------------------------------------------------------- Codex

def test_codex_turns_none_of_the_commands_into_skills(codex_plugin, fake_model, tmp_path, monkeypatch,  # noqa: F811
                                                      protocol_schema):  # noqa: F811
    codex_home, folder = codex_plugin
    assert not (folder / ".codex-plugin" / "migrated-command-skills").exists()
    monkeypatch.setenv("HOME", str(tmp_path))
    server = CodexServer(codex_home, fake_model, extra_config="\n" + (codex_home / "config.toml").read_text())
    try:
        client = SkillsClient(server, protocol_schema.folder)
        entries = client.skills_list(tmp_path)["data"]
        client.close()
    finally:
        server.stop()
    ours = {skill["name"] for entry in entries for skill in entry["skills"] if skill["name"].startswith(f"{PLUGIN}:")}
    assert ours == {f"{PLUGIN}:{name}" for name in SKILL_NAMES}


def test_codex_runs_a_skill_a_person_names(codex_plugin, fake_model, tmp_path, monkeypatch):  # noqa: F811
    """In Codex a person invokes our skills by name: `$peer-agents:claude-cli-client QUESTION` gives
    the model the skill's instructions."""
    codex_home, _ = codex_plugin
    monkeypatch.setenv("HOME", str(tmp_path))
    server = CodexServer(codex_home, fake_model, extra_config="\n" + (codex_home / "config.toml").read_text())
    try:
        fake_model.add(text("ok"))
        result = subprocess.run([sys.executable, str(CODEX_SCRIPT), "--uri", server.uri, "--json", "--cwd",
                                 str(tmp_path), f"${PLUGIN}:claude-cli-client is this design sound?"],
                                capture_output=True, text=True, timeout=120)
    finally:
        server.stop()
    assert json.loads(result.stdout)["status"] == "completed", result.stderr
    instructions = "runs the local `claude` CLI in stream-json mode"
    assert instructions in (SKILLS / "claude-cli-client" / "SKILL.md").read_text()
    assert instructions in json.dumps(fake_model.requests[-1])
