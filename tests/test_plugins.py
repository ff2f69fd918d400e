"""This repository as a plugin for both agents: the real `claude plugin` and `codex plugin` commands
install it from the checkout (a local path, offline) into a temporary home, the real agents then
list its skills, and each installed client script runs a real turn with a Python that has no
websocket-client. An install from a used clone carries the plugin/ folder's tracked files and
nothing else; a version bump reaches an update, and an uninstall leaves nothing of ours."""
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.claude.conftest import claude_env, fake_anthropic  # noqa: F401 - fixtures used below
from tests.codex.conftest import CONFIG, CodexServer, fake_model, protocol_schema  # noqa: F401
from fixtures.fakes import anthropic_api, responses_api
from fixtures.fakes.sse_server import text, tool
from tests.codex.test_default_server import DEFAULT_PORT, port_is_free, stop_daemon
from tests.helpers import CLAUDE_BIN, CODEX_BIN, CODEX_SCRIPT, PEERS_BIN, ROOT, SKILLS, validate_envelope
from tests.install_helpers import SkillsClient, bare_venv, clean_python_env

MARKETPLACE = json.loads((ROOT / ".claude-plugin" / "marketplace.json").read_text())["name"]
PLUGIN = json.loads((ROOT / "plugin" / ".claude-plugin" / "plugin.json").read_text())["name"]
# Every skill folder of the repository travels in the plugin (new ones too).
SKILL_NAMES = sorted(path.parent.name for path in SKILLS.glob("*/SKILL.md"))
ALWAYS_ON_TOKEN_BUDGET = 300
# The plugin's files come to about 0.75 MB (the vendored websocket-client is most of it).
INSTALLED_SIZE_LIMIT = 2_000_000


def run(argv, env, cwd=None, timeout=120):
    result = subprocess.run([str(arg) for arg in argv], env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, (argv, result.stdout, result.stderr)
    return result


def plugin_version():
    return json.loads((ROOT / "plugin" / ".claude-plugin" / "plugin.json").read_text())["version"]


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory):
    return bare_venv(tmp_path_factory.mktemp("bare") / "venv")


# ----------------------------------------------------------------------------- manifests

def test_every_manifest_names_the_same_plugin_and_the_installers_version():
    install_py = (ROOT / "scripts" / "install.py").read_text()
    installer_version = re.search(r'^VERSION = "([^"]+)"', install_py, re.M).group(1)
    codex_marketplace = json.loads((ROOT / ".agents" / "plugins" / "marketplace.json").read_text())
    codex_plugin = json.loads((ROOT / "plugin" / ".codex-plugin" / "plugin.json").read_text())
    assert codex_marketplace["name"] == MARKETPLACE
    assert [entry["name"] for entry in codex_marketplace["plugins"]] == [PLUGIN]
    assert codex_plugin["name"] == PLUGIN
    core_versions = {re.search(r'^CORE_VERSION = "([^"]+)"', (SKILLS / skill / "scripts" / "agent_bridge" /
                                                                 "__init__.py").read_text(), re.M).group(1)
                     for skill in ("codex-ws-client", "claude-cli-client", "acp-client")}
    assert plugin_version() == codex_plugin["version"] == installer_version
    assert core_versions == {installer_version}   # each client reports the release of its core


def test_claude_plugin_validate_passes_without_warnings(tmp_path):
    result = run([CLAUDE_BIN, "plugin", "validate", ROOT], env=clean_python_env(HOME=str(tmp_path)))
    assert "Validation passed" in result.stdout
    # Newer claude adds advice for its public plugin directory (an icon): not about the manifests.
    manifest_checks = result.stdout.split("Plugin directory checks")[0]
    assert "warning" not in manifest_checks.lower(), result.stdout


def test_claude_plugin_validate_passes_on_the_plugin_manifest(tmp_path):
    """Validating the plugin (not the marketplace) also checks each skill's and each command's front
    matter; a newer claude lists what it found, which must be everything in plugin/."""
    result = run([CLAUDE_BIN, "plugin", "validate", ROOT / "plugin" / ".claude-plugin" / "plugin.json"],
                 env=clean_python_env(HOME=str(tmp_path)))
    assert "Validation passed" in result.stdout and "\u2718" not in result.stdout, result.stdout
    if "Provides:" in result.stdout:
        provided = set(re.findall(r"(skills|commands): " + PLUGIN + r":(\S+)", result.stdout))
        in_the_folder = {("skills", name) for name in SKILL_NAMES} | {
            ("commands", path.stem) for path in (ROOT / "plugin" / "commands").glob("*.md")}
        assert provided == in_the_folder, result.stdout


# ----------------------------------------------------------------------------- installs from a used clone

@pytest.fixture
def clone(tmp_path):
    """A git clone of this checkout: its committed state, and a .git."""
    folder = tmp_path / "clone"
    run(["git", "clone", "--quiet", ROOT, folder], env=clean_python_env())
    return folder


@pytest.fixture
def used_clone(clone):
    """The clone as the tests, the demo and a user leave one: large git-ignored files beside the
    plugin (a virtualenv, peer installs), and the bytecode of every client script run from it."""
    for junk in (".venv/lib/big.bin", "tests/peers/node_modules/big.bin", "tests/peers-latest/big.bin"):
        (clone / junk).parent.mkdir(parents=True, exist_ok=True)
        (clone / junk).write_bytes(b"\0" * 3_000_000)
    # As a user runs them: bytecode written, wherever the scripts themselves put it.
    env = {key: value for key, value in clean_python_env().items()
           if key not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    for script in (clone / "plugin" / "skills").glob("*/scripts/*.py"):
        run([sys.executable, script, "--help"], env=env, cwd=clone)
    assert list((clone / ".pycache").rglob("*.pyc")), "the scripts wrote no bytecode outside plugin/"
    return clone


def tracked_plugin_files(clone):
    listed = run(["git", "ls-files", "plugin"], env=clean_python_env(), cwd=clone).stdout.splitlines()
    return sorted(os.path.relpath(name, "plugin") for name in listed)


def files_under(folder):
    return sorted(str(path.relative_to(folder)) for path in Path(folder).rglob("*") if not path.is_dir())


def assert_holds_only_the_plugin(installed, clone):
    assert files_under(installed) == tracked_plugin_files(clone)
    assert sum(path.stat().st_size for path in Path(installed).rglob("*")) < INSTALLED_SIZE_LIMIT


def claude_install_from(marketplace, env):
    run([CLAUDE_BIN, "plugin", "marketplace", "add", marketplace], env=env)
    run([CLAUDE_BIN, "plugin", "install", f"{PLUGIN}@{MARKETPLACE}"], env=env)


def codex_install_from(marketplace, env):
    run([CODEX_BIN, "plugin", "marketplace", "add", marketplace], env=env)
    run([CODEX_BIN, "plugin", "add", f"{PLUGIN}@{MARKETPLACE}"], env=env)


def claude_installs(env):
    """Our entries in `claude plugin list --json`."""
    listed = json.loads(run([CLAUDE_BIN, "plugin", "list", "--json"], env=env).stdout)
    return [entry for entry in listed if entry["id"] == f"{PLUGIN}@{MARKETPLACE}"]


def codex_installs(env):
    """Our entries in `codex plugin list --json`."""
    listed = json.loads(run([CODEX_BIN, "plugin", "list", "--json"], env=env).stdout)["installed"]
    return [entry for entry in listed if entry["pluginId"] == f"{PLUGIN}@{MARKETPLACE}"]


def codex_plugin_env(tmp_path):
    codex_home = tmp_path / "codex-home"
    codex_home.mkdir(exist_ok=True)
    return clean_python_env(HOME=str(tmp_path), CODEX_HOME=str(codex_home))


def bump_version(clone):
    """What a release does: a new version in both plugin manifests. Returns it."""
    version = plugin_version() + ".1"
    for agent in (".claude-plugin", ".codex-plugin"):
        manifest = clone / "plugin" / agent / "plugin.json"
        manifest.write_text(manifest.read_text().replace(f'"version": "{plugin_version()}"', f'"version": "{version}"'))
    return version


def test_the_tests_bytecode_is_cached_outside_the_plugin_folder():
    """For a plugin module the suite imports, and for a process it starts: an install copies plugin/ whole."""
    module = str(SKILLS / "codex-ws-client" / "scripts" / "codex_client" / "cli" / "app.py")
    print_cache = "import importlib.util, sys; print(importlib.util.cache_from_source(sys.argv[1]))"
    in_a_child = run([sys.executable, "-c", print_cache, module], env=clean_python_env()).stdout.strip()
    for cached in (importlib.util.cache_from_source(module), in_a_child):
        assert not Path(cached).is_relative_to(ROOT / "plugin"), cached


def test_claude_installs_only_the_plugins_files_from_a_used_clone(used_clone, claude_env):  # noqa: F811
    claude_install_from(used_clone, claude_env)
    [installed] = claude_installs(claude_env)
    assert_holds_only_the_plugin(installed["installPath"], used_clone)


def test_codex_installs_only_the_plugins_files_from_a_used_clone(used_clone, tmp_path):
    env = codex_plugin_env(tmp_path)
    codex_install_from(used_clone, env)
    [installed] = codex_installs(env)
    folder = Path(env["CODEX_HOME"]) / "plugins" / "cache" / MARKETPLACE / PLUGIN / installed["version"]
    assert_holds_only_the_plugin(folder, used_clone)


# ----------------------------------------------------------------------------- update and removal

def test_a_new_version_reaches_claude_through_the_readmes_update_commands(clone, claude_env):  # noqa: F811
    claude_install_from(clone, claude_env)
    version = bump_version(clone)
    run([CLAUDE_BIN, "plugin", "marketplace", "update", MARKETPLACE], env=claude_env)
    run([CLAUDE_BIN, "plugin", "update", f"{PLUGIN}@{MARKETPLACE}"], env=claude_env)
    [installed] = claude_installs(claude_env)
    manifest = json.loads((Path(installed["installPath"]) / ".claude-plugin" / "plugin.json").read_text())
    assert installed["version"] == manifest["version"] == version


def test_a_new_version_reaches_codex_by_adding_the_plugin_again(clone, tmp_path):
    env = codex_plugin_env(tmp_path)
    codex_install_from(clone, env)
    version = bump_version(clone)
    run([CODEX_BIN, "plugin", "add", f"{PLUGIN}@{MARKETPLACE}"], env=env)
    assert [entry["version"] for entry in codex_installs(env)] == [version]
    # Only the new copy is left.
    assert os.listdir(Path(env["CODEX_HOME"]) / "plugins" / "cache" / MARKETPLACE / PLUGIN) == [version]


def test_uninstalling_from_claude_leaves_nothing_of_ours_in_use(clone, claude_env):  # noqa: F811
    claude_install_from(clone, claude_env)
    run([CLAUDE_BIN, "plugin", "uninstall", f"{PLUGIN}@{MARKETPLACE}"], env=claude_env)
    run([CLAUDE_BIN, "plugin", "marketplace", "remove", MARKETPLACE], env=claude_env)
    assert claude_installs(claude_env) == []
    plugins = Path(claude_env["HOME"]) / ".claude" / "plugins"
    for record in (plugins / "installed_plugins.json", plugins / "known_marketplaces.json",
                   Path(claude_env["HOME"]) / ".claude" / "settings.json"):
        assert PLUGIN not in record.read_text(), record
    # claude keeps the copy it had, marked as orphaned (the README says how to delete it).
    left = list((plugins / "cache" / MARKETPLACE / PLUGIN).iterdir())
    assert left and all((path / ".orphaned_at").is_file() for path in left)


def test_uninstalling_from_codex_leaves_nothing_of_ours_and_codexs_own_files(clone, tmp_path):
    env = codex_plugin_env(tmp_path)
    codex_home = Path(env["CODEX_HOME"])
    (codex_home / "config.toml").write_text('model = "the-users-model"\n')
    (codex_home / "auth.json").write_text("{}")
    codex_install_from(clone, env)
    run([CODEX_BIN, "plugin", "remove", f"{PLUGIN}@{MARKETPLACE}"], env=env)
    run([CODEX_BIN, "plugin", "marketplace", "remove", MARKETPLACE], env=env)
    assert codex_installs(env) == []
    assert files_under(codex_home / "plugins") == []
    assert (codex_home / "config.toml").read_text().strip() == 'model = "the-users-model"'
    assert (codex_home / "auth.json").read_text() == "{}"


# ----------------------------------------------------------------------------- Claude Code

@pytest.fixture
def claude_plugin(claude_env):  # noqa: F811
    """The plugin installed by the real claude into the test's HOME; returns its installed folder."""
    claude_install_from(ROOT, claude_env)
    folder = os.path.join(claude_env["HOME"], ".claude", "plugins", "cache", MARKETPLACE, PLUGIN, plugin_version())
    assert sorted(os.listdir(os.path.join(folder, "skills"))) == SKILL_NAMES
    return folder


def test_claude_lists_the_plugins_skills(claude_plugin, claude_env, tmp_path):  # noqa: F811
    done = run([CLAUDE_BIN, "-p", "hello", "--output-format", "stream-json", "--verbose"], env=claude_env,
               cwd=tmp_path)
    init = next(message for message in map(json.loads, done.stdout.splitlines())
                if message.get("type") == "system" and message.get("subtype") == "init")
    assert {f"{PLUGIN}:{name}" for name in SKILL_NAMES} <= set(init["skills"])


def test_the_plugins_always_on_token_cost_stays_under_budget(claude_plugin, claude_env):  # noqa: F811
    if "details" not in run([CLAUDE_BIN, "plugin", "--help"], env=claude_env).stdout:
        pytest.skip("this claude has no `claude plugin details`")
    details = run([CLAUDE_BIN, "plugin", "details", f"{PLUGIN}@{MARKETPLACE}"], env=claude_env).stdout
    # The whole plugin as `details` counts it: the skills and the commands (whose descriptions in
    # fact never reach the model: tests/test_plugin_commands.py checks what the model is sent).
    always_on = int(re.search(r"Always-on:\s+~(\d+)", details).group(1))
    assert 0 < always_on < ALWAYS_ON_TOKEN_BUDGET, details


def test_the_claude_plugins_codex_skill_runs_a_turn_with_plain_python(claude_plugin, bare_python, tmp_path,
                                                                     fake_model):  # noqa: F811
    server = CodexServer(tmp_path / "codex-home", fake_model)
    script = os.path.join(claude_plugin, "skills", "codex-ws-client", "scripts", "codex_ws_client.py")
    try:
        result = subprocess.run([str(bare_python), script, "--uri", server.uri, "--json", "from the plugin"],
                                capture_output=True, text=True, env=clean_python_env(), cwd=tmp_path, timeout=60)
    finally:
        server.stop()
    assert result.returncode == 0, result.stderr
    assert validate_envelope(json.loads(result.stdout), "codex-ws-client")["text"] == "echo: from the plugin"


@pytest.mark.xdist_group("default-port")   # the client finds or starts its own server
def test_claude_code_asks_codex_through_the_plugin_with_no_other_step(claude_plugin, claude_env, fake_anthropic,
                                                                      fake_model, tmp_path):  # noqa: F811
    """Nothing started by hand: the real claude runs the plugin's codex script with Bash, and the
    script starts the codex app-server daemon itself (plain python3, no pip)."""
    if not port_is_free(DEFAULT_PORT):
        pytest.skip(f"something else answers at 127.0.0.1:{DEFAULT_PORT}")
    codex_home = tmp_path / "codex-home"
    codex_home.mkdir()
    (codex_home / "config.toml").write_text(CONFIG.format(port=fake_model.port))
    env = {key: value for key, value in claude_env.items() if key != "CODEX_APP_SERVER_URI"}
    env["CODEX_HOME"] = str(codex_home)
    script = os.path.join(claude_plugin, "skills", "codex-ws-client", "scripts", "codex_ws_client.py")
    fake_model.add(text("codex says: 42"))
    fake_anthropic.add(tool("Bash", {"command": f"python3 {script} --json 'question for codex'",
                                     "description": "Ask Codex"}))
    fake_anthropic.default = lambda body: text("claude relays: " + anthropic_api.last_tool_result(body))
    try:
        done = run([CLAUDE_BIN, "-p", "ask codex", "--output-format", "stream-json", "--verbose",
                    "--allowedTools", "Bash"], env=env, cwd=tmp_path, timeout=240)
    finally:
        stop_daemon(env, codex_home)
    relayed = anthropic_api.last_tool_result(fake_anthropic.requests[-1])
    envelope = validate_envelope(json.loads(relayed.strip().splitlines()[-1]), "codex-ws-client")
    assert envelope["text"] == "codex says: 42" and envelope["connection"]["via"] == "started-daemon"
    result = [json.loads(line) for line in done.stdout.splitlines() if '"type":"result"' in line][-1]
    assert "codex says: 42" in result["result"]


# ----------------------------------------------------------------------------- Codex

@pytest.fixture
def codex_plugin(tmp_path):
    """(CODEX_HOME, installed folder) after the real codex installed the plugin."""
    env = codex_plugin_env(tmp_path)
    codex_home = Path(env["CODEX_HOME"])
    codex_install_from(ROOT, env)
    folder = codex_home / "plugins" / "cache" / MARKETPLACE / PLUGIN / plugin_version()
    assert sorted(os.listdir(folder / "skills")) == SKILL_NAMES
    return codex_home, folder


def test_codex_app_server_lists_the_plugins_skills(codex_plugin, fake_model, tmp_path, monkeypatch,  # noqa: F811
                                                   protocol_schema):  # noqa: F811
    codex_home, folder = codex_plugin
    monkeypatch.setenv("HOME", str(tmp_path))
    # The fake model's settings, and the plugin settings the install wrote.
    server = CodexServer(codex_home, fake_model, extra_config="\n" + (codex_home / "config.toml").read_text())
    try:
        client = SkillsClient(server, protocol_schema.folder)
        entries = client.skills_list(tmp_path)["data"]
        client.close()
    finally:
        server.stop()
    listed = {skill["name"]: os.path.realpath(skill["path"]) for entry in entries for skill in entry["skills"]}
    for name in SKILL_NAMES:
        assert listed.get(f"{PLUGIN}:{name}") == os.path.realpath(folder / "skills" / name / "SKILL.md")


def test_the_codex_plugins_claude_skill_runs_a_turn_with_plain_python(codex_plugin, bare_python, claude_env,  # noqa: F811
                                                                      tmp_path):
    _, folder = codex_plugin
    script = folder / "skills" / "claude-cli-client" / "scripts" / "claude_cli_client.py"
    env = clean_python_env(**{key: value for key, value in claude_env.items() if key != "PATH"},
                           PATH=f"{PEERS_BIN}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run([str(bare_python), str(script), "--json", "from the codex plugin"], capture_output=True,
                            text=True, env=env, cwd=tmp_path, stdin=subprocess.DEVNULL, timeout=90)
    assert result.returncode == 0, result.stderr
    envelope = validate_envelope(json.loads(result.stdout.splitlines()[-1]), "claude-cli-client")
    assert envelope["text"] == "echo: from the codex plugin"


def test_codex_asks_claude_through_the_plugin_with_no_other_step(codex_plugin, fake_model, claude_env, tmp_path,
                                                                 monkeypatch):  # noqa: F811
    """The real app-server, with the plugin installed by `codex plugin add`, runs the plugin's claude
    script with exec_command (plain python3, no pip)."""
    codex_home, folder = codex_plugin
    monkeypatch.setenv("HOME", str(tmp_path))
    script = folder / "skills" / "claude-cli-client" / "scripts" / "claude_cli_client.py"
    claude_side = {key: claude_env[key] for key in ("ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY",
                                                    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "PATH")}
    server = CodexServer(codex_home, fake_model, extra_env=claude_side,
                         extra_config="\n" + (codex_home / "config.toml").read_text())
    try:
        # login=False: a login shell would reset PATH, and claude is found through the server's PATH.
        fake_model.add(tool("exec_command", {"cmd": f"python3 {script} --json 'question for claude'", "login": False,
                                             "sandbox_permissions": "require_escalated", "justification": "ask Claude"}))
        fake_model.default = lambda body: text("codex relays: " + responses_api.last_function_output(body))
        result = subprocess.run([sys.executable, str(CODEX_SCRIPT), "--uri", server.uri, "--json", "--approve",
                                 "commands", "--cwd", str(tmp_path), "ask claude"], capture_output=True, text=True,
                                timeout=180)
    finally:
        server.stop()
    envelope = validate_envelope(json.loads(result.stdout), "codex-ws-client")
    assert envelope["status"] == "completed", result.stderr
    assert envelope["commands"][0]["exit_code"] == 0 and str(script) in envelope["commands"][0]["command"]
    assert "echo: question for claude" in envelope["text"]
