"""Every command the docs show runs as written, from where the installer puts the skills.

An agent reads SKILL.md to decide how to call a script, so each command line in the SKILL.md
files, references/ and README.md is collected here; a test fails when a documented command
is not run by these tests, or does not work.
"""
import json
import os
import re
import subprocess
import sys
import time

import pytest

from tests.acp.conftest import fake_gemini, gemini_env  # noqa: F401 - fixtures used below
from tests.acp.test_one_shot import wait_for_the_next_minute
from tests.claude.conftest import claude_env, fake_anthropic  # noqa: F401 - fixtures used below
from tests.codex.conftest import CodexServer, fake_model  # noqa: F401
from tests.helpers import ROOT, SKILLS, json_lines, validate_envelope
from tests.install_helpers import run_install

COMMAND_START = ("CLIENT", "BRAINSTORM", "printf", "python3", "scripts/", "codex ", "claude ")
DOCS = [SKILLS / "codex-ws-client" / "SKILL.md", SKILLS / "codex-ws-client" / "references" / "usage.md",
        SKILLS / "claude-cli-client" / "SKILL.md", SKILLS / "claude-cli-client" / "references" / "usage.md",
        SKILLS / "brainstorm" / "SKILL.md", SKILLS / "brainstorm" / "references" / "usage.md",
        SKILLS / "acp-client" / "SKILL.md", SKILLS / "acp-client" / "references" / "usage.md", ROOT / "README.md"]
SYNOPSIS = re.compile(r"\[options\]")


def documented_commands(path):
    """Command lines of a document's indented code blocks, without # comments and synopsis lines."""
    commands = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("    ") and line.strip().startswith(COMMAND_START):
            command = line.split("  #")[0].strip()
            if not SYNOPSIS.search(command):
                commands.append(command)
    return commands


@pytest.fixture
def project(tmp_path, claude_env):  # noqa: F811
    folder = tmp_path / "project"
    folder.mkdir()
    # A repository with an uncommitted file, for the documented reviews; the installer keeps its
    # skill folders out of git's view, so the reviews see only that file.
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    (folder / "app.py").write_text("def div(a, b):\n    return a / b\n")
    done = run_install("--project", folder, "--target", "codex", cwd=folder, home=claude_env["HOME"])
    assert done.returncode == 0, done.stderr
    return folder


def _run(command, cwd, env):
    done = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{command}\n{done.stdout[-1000:]}\n{done.stderr[-1000:]}"
    return done


def _run_skill_doc(doc, skill, entry, project, env, id_field, placeholder, before=lambda command: None):
    client = f"python3 .codex/skills/{skill}/scripts/{entry}"
    last_ids = {placeholder: None, "JOB_ID": None}
    ran = []
    for command in documented_commands(doc):
        runnable = command.replace("CLIENT", client)
        for name, value in last_ids.items():
            runnable = runnable.replace(name, str(value))
        before(command)
        done = _run(runnable, project, env)
        envelopes = [e for e in json_lines(done.stdout) if "status" in e]
        for envelope in envelopes:
            validate_envelope(envelope, skill)
            assert envelope["exit_code"] == 0, (command, envelope)
        if envelopes:
            last_ids[placeholder] = envelopes[-1][id_field]
            last_ids["JOB_ID"] = envelopes[-1].get("job_id", last_ids["JOB_ID"])
        ran.append(command)
    return ran


def test_codex_skill_commands_run_as_written(project, claude_env, fake_model, tmp_path):  # noqa: F811
    server = CodexServer(tmp_path / "codex-home", fake_model)
    try:
        ran = _run_skill_doc(SKILLS / "codex-ws-client" / "SKILL.md", "codex-ws-client", "codex_ws_client.py",
                             project, dict(claude_env, CODEX_APP_SERVER_URI=server.uri), "thread_id", "THREAD_ID")
    finally:
        server.stop()
    assert ran == documented_commands(SKILLS / "codex-ws-client" / "SKILL.md") and len(ran) >= 5
    assert server.fake.requests   # the commands talked to this test's server, not one on the default port


def test_claude_skill_commands_run_as_written(project, claude_env, fake_anthropic):  # noqa: F811
    ran = _run_skill_doc(SKILLS / "claude-cli-client" / "SKILL.md", "claude-cli-client", "claude_cli_client.py",
                         project, claude_env, "session_id", "SESSION_ID")
    assert len(ran) >= 3 and fake_anthropic.requests


def test_acp_skill_commands_run_as_written(project, gemini_env, fake_gemini):  # noqa: F811
    def continue_in_a_later_minute(command):
        if "--session-id" in command:   # see wait_for_the_next_minute: gemini 0.61.0 loses a session otherwise
            wait_for_the_next_minute(time.strftime("%Y-%m-%dT%H:%M", time.gmtime()))
    env = dict(gemini_env, GEMINI_MODEL="gemini-2.5-flash")
    ran = _run_skill_doc(SKILLS / "acp-client" / "SKILL.md", "acp-client", "acp_client.py", project, env,
                         "session_id", "SESSION_ID", continue_in_a_later_minute)
    assert ran == documented_commands(SKILLS / "acp-client" / "SKILL.md") and len(ran) >= 3
    assert fake_gemini.requests


def test_brainstorm_skill_commands_run_as_written(project, claude_env, fake_model, fake_anthropic,  # noqa: F811
                                                  tmp_path):
    (project / "mine.md").write_text("My side: keep it simple.")
    server = CodexServer(tmp_path / "codex-home", fake_model)
    env = dict(claude_env, CODEX_APP_SERVER_URI=server.uri)
    doc = SKILLS / "brainstorm" / "SKILL.md"
    state, ran = None, []
    try:
        for command in documented_commands(doc):
            runnable = command.replace("BRAINSTORM", "python3 .codex/skills/brainstorm/scripts/brainstorm.py")
            envelope = json.loads(_run(runnable.replace("STATE", str(state)), project, env).stdout)
            assert envelope["status"] == "completed" and envelope["rounds"], (command, envelope)
            state = envelope["state_file"]
            ran.append(command)
    finally:
        server.stop()
    assert len(ran) >= 6 and envelope["conclusions"]["claude"]["text"] == "My side: keep it simple."
    assert fake_model.requests and fake_anthropic.requests


def test_every_skill_front_matter_parses_as_yaml():
    """An agent picks a skill by its description: front matter a YAML parser rejects loads with none."""
    import yaml   # here, so that a virtualenv made before PyYAML was required fails only this test
    skill_docs = sorted(SKILLS.glob("*/SKILL.md"))
    assert len(skill_docs) == 4
    for doc in skill_docs:
        front_matter = re.match(r"---\n(.*?)\n---\n", doc.read_text(encoding="utf-8"), re.S).group(1)
        metadata = yaml.safe_load(front_matter)
        assert metadata["name"] == doc.parent.name, doc
        assert isinstance(metadata["description"], str) and len(metadata["description"]) > 50, doc


def test_usage_references_hold_only_the_synopsis():
    for skill in ("codex-ws-client", "claude-cli-client", "brainstorm", "acp-client"):
        assert documented_commands(SKILLS / skill / "references" / "usage.md") == []


def test_readme_commands(project, claude_env, fake_model, fake_anthropic, tmp_path):  # noqa: F811
    other = tmp_path / "other-project"
    other.mkdir()
    env = dict(claude_env, CODEX_HOME=str(tmp_path / "plugin-codex-home"))
    os.mkdir(env["CODEX_HOME"])
    servers, ran, plugin_listed = [], [], {}
    try:
        for command in documented_commands(ROOT / "README.md"):
            if command.startswith("scripts/install.sh"):
                _run(f"sh {ROOT}/{command.replace('DIR', str(other))}", project, env)
            elif command.startswith("codex app-server --listen ws://127.0.0.1:8765"):
                # The same server on a free port: CODEX_APP_SERVER_URI points the commands below at it.
                servers.append(CodexServer(tmp_path / "codex-home", fake_model))
                env["CODEX_APP_SERVER_URI"] = servers[-1].uri
            elif command.startswith(("claude plugin", "codex plugin")):
                _run(command.replace("CLONE", str(ROOT)), project, env)   # the checkout, offline
                agent = command.split()[0]
                listing = _run(f"{agent} plugin list --json", project, env).stdout
                plugin_listed.setdefault(agent, []).append("peer-agents@peer-agents" in listing)
            elif command.startswith("python3 .codex/skills/"):
                envelope = json.loads(_run(command, project, env).stdout)
                assert envelope["status"] == "completed"
            elif command == "scripts/test.sh":
                # As written, with pytest arguments (as the README allows) that pick one quick test file.
                done = _run(f"{ROOT}/{command} -p no:cacheprovider -n 0 -q tests/test_shared_modules.py", ROOT, env)
                assert re.search(r"\b\d+ passed\b", done.stdout), done.stdout
            else:
                raise AssertionError(f"README command not covered by this test: {command}")
            ran.append(command)
    finally:
        for server in servers:
            server.stop()
    assert "scripts/test.sh" in ran and servers
    # The README's plugin commands install the plugin into each agent, and its last ones remove it.
    assert {agent: (True in listed, listed[-1]) for agent, listed in plugin_listed.items()} == {
        "claude": (True, False), "codex": (True, False)}
    codex_copies = [files for _, _, files in os.walk(os.path.join(env["CODEX_HOME"], "plugins")) if files]
    assert codex_copies == [], "the README's uninstall left codex's copy of the plugin"
    assert fake_model.requests and fake_anthropic.requests


def _library_example(skill, replacements):
    code = re.search(r"```python\n(.*?)```", (SKILLS / skill / "references" / "library.md").read_text(encoding="utf-8"),
                     re.S).group(1)
    for placeholder, value in replacements.items():
        code = code.replace(placeholder, value)
    return code


def test_codex_library_example_runs(fake_model, tmp_path):  # noqa: F811
    server = CodexServer(tmp_path / "codex-home", fake_model)
    code = _library_example("codex-ws-client", {"/path/to/codex-ws-client/scripts": str(SKILLS / "codex-ws-client"
                                                                                          / "scripts"),
                                                "/path/to/repo": str(tmp_path), "ws://127.0.0.1:8765": server.uri})
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr
    assert "completed 0" in done.stdout and "echo: Summarize this repo" in done.stdout
    assert done.stdout.rstrip().endswith("completed") and "item agentMessage" in done.stdout


def test_claude_library_example_runs(claude_env, fake_anthropic, tmp_path):  # noqa: F811
    code = _library_example("claude-cli-client", {"/path/to/claude-cli-client/scripts": str(SKILLS / "claude-cli-client"
                                                                                              / "scripts"),
                                                  "/path/to/repo": str(tmp_path)})
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=claude_env)
    assert done.returncode == 0, done.stderr
    assert "echo: Summarize this repo" in done.stdout and "completed 0 " in done.stdout
    assert "assistant message" in done.stdout and done.stdout.rstrip().endswith("completed")
    assert "sonnet" in fake_anthropic.requests[-1]["model"]   # the session's model option reached claude


def test_help_lists_every_option_the_readme_names():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shared = set(re.findall(r"--[a-z][a-z0-9-]*", readme.split("Both clients share:")[1].split("\n\n")[0]))
    for skill, script, marker in (("codex-ws-client", "codex_ws_client.py", "codex-ws-client adds:"),
                                  ("claude-cli-client", "claude_cli_client.py", "claude-cli-client adds:")):
        own = set(re.findall(r"--[a-z][a-z0-9-]*", readme.split(marker)[1].split("Reference:")[0]))
        help_text = subprocess.run([sys.executable, str(SKILLS / skill / "scripts" / script), "--help"],
                                   capture_output=True, text=True, env=dict(os.environ, COLUMNS="200")).stdout
        missing = {option for option in shared | own if option not in help_text}
        assert not missing, f"{skill} --help lacks {missing}"


def test_acp_help_lists_every_option_its_readme_paragraph_names():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    paragraph = readme.split("acp-client (Gemini CLI")[1].split("Reference:")[0]
    script = SKILLS / "acp-client" / "scripts" / "acp_client.py"
    help_text = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True,
                               env=dict(os.environ, COLUMNS="200")).stdout
    named = set(re.findall(r"--[a-z][a-z0-9-]*", paragraph)) - {"--resume-timeout"}   # named as one it lacks
    assert len(named) >= 8 and not {option for option in named if option not in help_text}


def test_brainstorm_help_lists_every_option_its_readme_section_names():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Brainstorm")[1].split("\n## ")[0]
    script = SKILLS / "brainstorm" / "scripts" / "brainstorm.py"
    help_text = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True,
                               env=dict(os.environ, COLUMNS="200")).stdout
    named = set(re.findall(r"--[a-z][a-z0-9-]*", section))
    assert len(named) >= 8 and not {option for option in named if option not in help_text}
