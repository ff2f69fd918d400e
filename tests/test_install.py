"""scripts/install.sh (and install.py behind it): install, update, uninstall, and the real
codex discovering what was installed."""
import hashlib
import json
import os
import subprocess

import pytest

from tests.codex.conftest import CodexServer
from tests.fakes import responses_api
from tests.helpers import CODEX_BIN, ROOT, validate_envelope
from tests.install_helpers import (
    INSTALL_PS1, MANIFEST, SkillsClient, bare_venv, clean_python_env, files_of, make_source,
    manifest_of, one_line_error, run_install, snapshot, write)

BOTH = ["codex-ws-client", "claude-cli-client"]
TARGET_DIRS = {"codex": ".codex/skills", "agents": ".agents/skills", "claude": ".claude/skills"}


@pytest.fixture
def bench(tmp_path):
    """An empty project, an empty home, and a fake skills/ source folder."""
    class Bench:
        project = tmp_path / "project"
        home = tmp_path / "home"
        source = tmp_path / "src" / "skills"
        expected = make_source(tmp_path / "src" / "skills")

        def install(self, *args, cwd=None, env=None, deps=False):
            extra = ["--source", self.source] + ([] if deps else ["--no-deps"])
            return run_install(*args, *extra, cwd=cwd or self.project, home=self.home, env=env)

    Bench.project.mkdir()
    Bench.home.mkdir()
    return Bench()


def installed(root, target, skill):
    return root / TARGET_DIRS[target] / skill


def assert_installed(skill_dir, expected_files):
    """The folder holds exactly the expected files plus a manifest that lists them."""
    on_disk = files_of(skill_dir)
    manifest = on_disk.pop(MANIFEST)
    assert on_disk == expected_files
    recorded = manifest_of(skill_dir)["files"]
    assert recorded == {rel: hashlib.sha256(data).hexdigest() for rel, data in expected_files.items()}
    return manifest


# ----------------------------------------------------------------------------- install

def test_default_installs_both_skills_into_the_current_directory_codex_folder(bench):
    result = bench.install()
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[:2] for line in lines] == [["installed", "codex-ws-client"],
                                                    ["installed", "claude-cli-client"]]
    for skill in BOTH:
        skill_dir = installed(bench.project, "codex", skill)
        assert str(skill_dir) in result.stdout
        assert_installed(skill_dir, bench.expected[skill])  # no __pycache__, no *.pyc
    assert os.access(installed(bench.project, "codex", "codex-ws-client") / "scripts" / "codex_ws_client.py",
                     os.X_OK)
    assert sorted(os.listdir(bench.project)) == [".codex"]
    assert sorted(os.listdir(bench.project / ".codex" / "skills")) == sorted(BOTH)


def test_project_option_targets_and_one_named_skill(bench, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = bench.install("--project", bench.project, "--target", "agents,claude", "--target", "codex",
                           "claude-cli-client", cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 3
    for target in TARGET_DIRS:
        assert sorted(os.listdir(bench.project / TARGET_DIRS[target])) == ["claude-cli-client"]
        assert_installed(installed(bench.project, target, "claude-cli-client"), bench.expected["claude-cli-client"])
    assert os.listdir(elsewhere) == []


@pytest.mark.parametrize("codex_home", [False, True], ids=["home", "CODEX_HOME"])
def test_global_installs_into_home_and_codex_home(bench, tmp_path, codex_home):
    env = {"CODEX_HOME": str(tmp_path / "my-codex")} if codex_home else {}
    result = bench.install("--global", "--target", "codex,agents,claude", "codex-ws-client", env=env)
    assert result.returncode == 0, result.stderr
    codex_skills = (tmp_path / "my-codex" / "skills") if codex_home else (bench.home / ".codex" / "skills")
    for skills_dir in [codex_skills, bench.home / ".agents" / "skills", bench.home / ".claude" / "skills"]:
        assert_installed(skills_dir / "codex-ws-client", bench.expected["codex-ws-client"])
    assert os.path.exists(bench.home / ".codex") == (not codex_home)
    assert os.listdir(bench.project) == []

    result = bench.install("--global", "--uninstall", "--target", "codex,agents,claude", env=env)
    assert result.returncode == 0, result.stderr
    assert snapshot(bench.home) == {}  # the folders it created went too
    assert not (tmp_path / "my-codex").exists()


def test_reinstall_replaces_files_and_removes_those_the_new_version_dropped(bench):
    assert bench.install().returncode == 0
    skill_dir = installed(bench.project, "codex", "codex-ws-client")
    write(skill_dir / "my-notes.md", "mine")  # the user's own file inside the skill folder

    source = bench.source / "codex-ws-client"
    (source / "references" / "usage.md").unlink()
    (source / "references").rmdir()
    write(source / "SKILL.md", "---\nname: codex-ws-client\ndescription: v2\n---\n")
    write(source / "scripts" / "codex_client" / "new_module.py", "NEW = 1\n")
    expected = files_of(source)
    expected = {rel: data for rel, data in expected.items() if not rel.endswith(".pyc")}

    result = bench.install()
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("updated codex-ws-client")
    user_file = files_of(skill_dir).pop("my-notes.md")
    assert user_file == b"mine"
    (skill_dir / "my-notes.md").unlink()
    assert_installed(skill_dir, expected)
    assert not (skill_dir / "references").exists()

    again = bench.install()  # idempotent
    assert again.returncode == 0
    assert_installed(skill_dir, expected)


def test_other_skills_and_files_in_the_target_folder_are_never_touched(bench):
    write(bench.project / ".codex" / "config.toml", "model = 'x'\n")
    write(bench.project / ".codex" / "skills" / "other-skill" / "SKILL.md", "---\nname: other-skill\n---\n")
    write(bench.project / ".codex" / "skills" / "other-skill" / "scripts" / "tool.py", "pass\n")
    write(bench.project / ".codex" / "skills" / "README.txt", "my skills\n")
    before = snapshot(bench.project)

    def not_ours(snap):
        return {rel: data for rel, data in snap.items()
                if not any(f".codex/skills/{skill}" in rel for skill in BOTH)}

    assert bench.install().returncode == 0
    assert not_ours(snapshot(bench.project)) == before
    assert bench.install().returncode == 0
    assert not_ours(snapshot(bench.project)) == before
    result = bench.install("--uninstall")
    assert result.returncode == 0, result.stderr
    assert snapshot(bench.project) == before


# ----------------------------------------------------------------------------- uninstall

def test_uninstall_removes_exactly_what_it_installed_and_keeps_user_files(bench):
    assert bench.install("--target", "codex,agents").returncode == 0
    codex_skill = installed(bench.project, "codex", "codex-ws-client")
    write(codex_skill / "notes.md", "keep me")
    write(codex_skill / "scripts" / "mine" / "helper.py", "pass\n")

    result = bench.install("--uninstall", "--target", "codex,agents", "codex-ws-client")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and all(line.startswith("removed codex-ws-client") for line in lines)
    assert "notes.md" in lines[0] and "scripts/mine/helper.py" in lines[0] and "kept" in lines[0]
    assert files_of(codex_skill) == {"notes.md": b"keep me", "scripts/mine/helper.py": b"pass\n"}
    assert not installed(bench.project, "agents", "codex-ws-client").exists()
    # The skill not named stays whole.
    for target in ("codex", "agents"):
        assert_installed(installed(bench.project, target, "claude-cli-client"), bench.expected["claude-cli-client"])

    result = bench.install("--uninstall", "--target", "codex,agents")
    assert result.returncode == 0, result.stderr
    # What is left of codex-ws-client is the user's: reported and left alone.
    assert f"left alone: {codex_skill} (not installed by this installer" in result.stdout
    assert f"not installed: codex-ws-client in {bench.project / '.agents' / 'skills'}" in result.stdout
    assert snapshot(bench.project) == {
        ".codex/": None, ".codex/skills/": None, ".codex/skills/codex-ws-client/": None,
        ".codex/skills/codex-ws-client/notes.md": b"keep me",
        ".codex/skills/codex-ws-client/scripts/": None,
        ".codex/skills/codex-ws-client/scripts/mine/": None,
        ".codex/skills/codex-ws-client/scripts/mine/helper.py": b"pass\n"}


def test_uninstall_of_a_fresh_install_leaves_the_project_as_it_was(bench):
    assert bench.install("--target", "codex,agents,claude").returncode == 0
    result = bench.install("--uninstall", "--target", "codex,agents,claude")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 6
    assert snapshot(bench.project) == {}


def test_uninstall_keeps_an_installed_file_the_user_changed(bench):
    assert bench.install("codex-ws-client").returncode == 0
    skill_dir = installed(bench.project, "codex", "codex-ws-client")
    write(skill_dir / "SKILL.md", "my edit")
    result = bench.install("--uninstall", "codex-ws-client")
    assert result.returncode == 0, result.stderr
    assert "changed" in result.stdout and "SKILL.md" in result.stdout
    assert files_of(skill_dir) == {"SKILL.md": b"my edit"}


def test_uninstall_with_nothing_installed_changes_nothing(bench):
    result = bench.install("--uninstall")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"not installed: {skill} in {bench.project / '.codex' / 'skills'} "
                                          "(nothing to remove)" for skill in BOTH]
    assert snapshot(bench.project) == {}


def test_a_skill_folder_the_installer_did_not_write_is_refused(bench):
    write(bench.project / ".codex" / "skills" / "codex-ws-client" / "SKILL.md", "copied by hand")
    before = snapshot(bench.project)
    line = one_line_error(bench.install())
    assert "codex-ws-client" in line and "not installed by this installer" in line
    assert snapshot(bench.project) == before  # the other skill was not installed either


def test_uninstall_leaves_a_skill_folder_the_installer_did_not_write_alone(bench):
    assert bench.install("claude-cli-client").returncode == 0
    write(bench.project / ".codex" / "skills" / "codex-ws-client" / "SKILL.md", "copied by hand")
    result = bench.install("--uninstall")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("left alone: ") and "codex-ws-client" in lines[0]
    assert lines[1].startswith("removed claude-cli-client")
    assert snapshot(bench.project) == {
        ".codex/": None, ".codex/skills/": None, ".codex/skills/codex-ws-client/": None,
        ".codex/skills/codex-ws-client/SKILL.md": b"copied by hand"}


# ----------------------------------------------------------------------------- refusals

@pytest.mark.parametrize("broken, expect", [
    ("claude-cli-client/SKILL.md", "missing SKILL.md"),
    ("claude-cli-client/scripts/claude_cli_client.py", "missing scripts/claude_cli_client.py"),
    ("codex-ws-client/scripts/codex_ws_client.py", "missing scripts/codex_ws_client.py"),
    ("codex-ws-client/SKILL.md:name", "name: codex-ws-client"),
])
def test_an_incomplete_source_skill_is_refused_and_nothing_is_written(bench, broken, expect):
    path, _, how = broken.partition(":")
    if how == "name":
        write(bench.source / path, "---\nname: something-else\ndescription: x\n---\n")
    else:
        (bench.source / path).unlink()
    line = one_line_error(bench.install(deps=True))
    assert expect in line, line
    assert snapshot(bench.project) == {}


@pytest.mark.parametrize("args, expect", [
    (["no-such-skill"], "unknown skill 'no-such-skill'"),
    (["--target", "codex,vim"], "unknown target 'vim'"),
    (["--global", "--project", "."], "not allowed with argument"),
    (["--project", "does-not-exist"], "not found"),
    (["--bogus"], "unrecognized arguments: --bogus"),
])
def test_bad_arguments_are_one_line_errors(bench, args, expect):
    line = one_line_error(bench.install(*args))
    assert expect in line, line
    assert snapshot(bench.project) == {} and snapshot(bench.home) == {}


def test_help(bench):
    result = bench.install("--help")
    assert result.returncode == 0
    for option in ["--project", "--global", "--target", "--uninstall", "--no-deps", "codex-ws-client",
                   ".agents/skills", ".claude/skills", MANIFEST]:
        assert option in result.stdout


# ----------------------------------------------------------------------------- wrappers

def test_sh_wrapper_finds_python_on_path(bench):
    result = run_install("--help", cwd=bench.project, home=bench.home, python=None)
    assert result.returncode == 0, result.stderr
    assert "--uninstall" in result.stdout


def test_sh_wrapper_reports_a_bad_python(bench):
    line = one_line_error(run_install("--help", cwd=bench.project, home=bench.home,
                                      python="/nonexistent/python3"))
    assert "PYTHON" in line


def test_ps1_wrapper_only_locates_python_and_forwards_everything():
    # pwsh is not available here; this checks the wrapper stays a thin one.
    text = INSTALL_PS1.read_text()
    assert "Join-Path $PSScriptRoot 'install.py'" in text
    assert "& $exe @pre $installer @forward" in text and "exit $LASTEXITCODE" in text
    for cmdlet in ("Copy-Item", "Remove-Item", "New-Item", "Set-Content", "pip"):
        assert cmdlet not in text


# ----------------------------------------------------------------------------- dependency

def test_websocket_client_goes_into_the_codex_skill_vendor_folder_of_every_target(bench):
    result = bench.install("--target", "codex,claude", deps=True)
    assert result.returncode == 0, result.stderr
    for target in ("codex", "claude"):
        skill_dir = installed(bench.project, target, "codex-ws-client")
        manifest = manifest_of(skill_dir)
        vendored = {rel for rel in files_of(skill_dir) if rel.startswith("scripts/_vendor/")}
        assert "scripts/_vendor/websocket/__init__.py" in vendored
        assert vendored == {rel for rel in manifest["files"] if rel.startswith("scripts/_vendor/")}
        assert not any(rel.endswith(".pyc") or rel.startswith("scripts/_vendor/bin/") for rel in vendored)
        assert manifest["vendored"] == ["websocket-client>=1.6,<2"]
        assert not (installed(bench.project, target, "claude-cli-client") / "scripts" / "_vendor").exists()

    result = bench.install("--target", "codex,claude")  # --no-deps: the vendored copy goes
    assert result.returncode == 0, result.stderr
    for target in ("codex", "claude"):
        assert_installed(installed(bench.project, target, "codex-ws-client"), bench.expected["codex-ws-client"])


def test_no_deps_and_the_claude_skill_never_run_pip(bench):
    broken_pip = {"CODEX_SKILLS_PIP_ARGS": "--no-such-pip-option"}
    assert bench.install("claude-cli-client", deps=True, env=broken_pip).returncode == 0
    assert bench.install("codex-ws-client", env=broken_pip).returncode == 0  # --no-deps
    assert_installed(installed(bench.project, "codex", "codex-ws-client"), bench.expected["codex-ws-client"])


def test_a_failing_pip_is_one_line_and_installs_nothing(bench):
    line = one_line_error(bench.install(deps=True, env={"CODEX_SKILLS_PIP_ARGS": "--no-such-pip-option"}))
    assert "pip" in line and "--no-deps" in line
    assert snapshot(bench.project) == {}


@pytest.fixture(scope="module")
def vendored_codex_skill(tmp_path_factory):
    """The real codex-ws-client installed with its vendored websocket-client."""
    root = tmp_path_factory.mktemp("vendored")
    (root / "project").mkdir()
    (root / "home").mkdir()
    result = run_install("codex-ws-client", cwd=root / "project", home=root / "home")
    assert result.returncode == 0, result.stderr
    return root / "project" / ".codex" / "skills" / "codex-ws-client"


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory):
    return bare_venv(tmp_path_factory.mktemp("bare") / "venv")


def test_the_vendored_websocket_client_imports_with_a_python_that_lacks_it(vendored_codex_skill, bare_python):
    vendor = vendored_codex_skill / "scripts" / "_vendor"
    code = "import sys; sys.path.insert(0, sys.argv[1]); import websocket; print(websocket.__file__)"
    result = subprocess.run([str(bare_python), "-c", code, str(vendor)], capture_output=True, text=True,
                            env=clean_python_env(), timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith(str(vendor))


def test_installed_codex_client_runs_a_turn_with_a_python_that_lacks_websocket_client(vendored_codex_skill,
                                                                                     bare_python, tmp_path):
    fake = responses_api.start()
    server = CodexServer(tmp_path / "codex-home", fake)
    script = vendored_codex_skill / "scripts" / "codex_ws_client.py"
    try:
        result = subprocess.run([str(bare_python), str(script), "--uri", server.uri, "--json", "over a websocket"],
                                capture_output=True, text=True, env=clean_python_env(), cwd=tmp_path, timeout=60)
    finally:
        server.stop()
        fake.stop()
    assert result.returncode == 0, result.stderr
    envelope = validate_envelope(json.loads(result.stdout), "codex-ws-client")
    assert envelope["text"] == "echo: over a websocket"


# ----------------------------------------------------------------------------- real codex

@pytest.fixture(scope="module")
def codex_schema(tmp_path_factory):
    out = tmp_path_factory.mktemp("codex-schema")
    subprocess.run([str(CODEX_BIN), "app-server", "generate-json-schema", "--out", str(out)],
                   check=True, capture_output=True, timeout=60)
    return out


@pytest.fixture
def codex_skills(tmp_path, monkeypatch, codex_schema):
    """ask(codex_home, home, cwd): the skills/list entry a real app-server returns for cwd."""
    started = []

    def ask(codex_home, home, cwd):
        monkeypatch.setenv("HOME", str(home))  # CodexServer passes os.environ on
        fake = responses_api.start()
        server = CodexServer(codex_home, fake)
        started.append((server, fake))
        client = SkillsClient(server, codex_schema)
        try:
            entries = client.skills_list(cwd)["data"]
        finally:
            client.close()
        assert len(entries) == 1, entries
        assert entries[0]["errors"] == [], entries[0]["errors"]
        return {(skill["name"], os.path.realpath(skill["path"]), skill["scope"])
                for skill in entries[0]["skills"] if skill["name"] in BOTH}

    yield ask
    for server, fake in started:
        server.stop()
        fake.stop()


def expected_skills(skills_dirs, scope):
    return {(name, os.path.realpath(skills_dir / name / "SKILL.md"), scope)
            for skills_dir in skills_dirs for name in BOTH}


def test_real_codex_lists_both_skills_after_a_project_install(tmp_path, codex_skills):
    project, home = tmp_path / "project", tmp_path / "home"
    project.mkdir()
    home.mkdir()
    result = run_install("--target", "codex,agents", cwd=project, home=home)  # the repository's skills
    assert result.returncode == 0, result.stderr
    listed = codex_skills(tmp_path / "codex-home", home, project)
    assert listed == expected_skills([project / ".codex" / "skills", project / ".agents" / "skills"], "repo")


@pytest.mark.parametrize("codex_home_set", [False, True], ids=["default-codex-home", "CODEX_HOME"])
def test_real_codex_lists_both_skills_after_a_global_install(tmp_path, codex_skills, codex_home_set):
    home, elsewhere = tmp_path / "home", tmp_path / "some-project"
    home.mkdir()
    elsewhere.mkdir()
    codex_home = tmp_path / "custom-codex-home" if codex_home_set else home / ".codex"
    env = {"CODEX_HOME": str(codex_home)} if codex_home_set else {}
    result = run_install("--global", "--target", "codex,agents", "--no-deps", cwd=elsewhere, home=home, env=env)
    assert result.returncode == 0, result.stderr
    assert codex_skills(codex_home, home, elsewhere) == expected_skills(
        [codex_home / "skills", home / ".agents" / "skills"], "user")
    assert os.listdir(elsewhere) == []

    # The server put its own system skills in CODEX_HOME/skills/.system: uninstall keeps them.
    system_skills = snapshot(codex_home / "skills" / ".system")
    assert system_skills
    result = run_install("--global", "--target", "codex,agents", "--uninstall", cwd=elsewhere, home=home, env=env)
    assert result.returncode == 0, result.stderr
    assert snapshot(codex_home / "skills" / ".system") == system_skills
    assert not (home / ".agents").exists()
    assert codex_skills(codex_home, home, elsewhere) == set()


def test_without_websocket_client_the_script_says_how_to_fix_it(bare_python):
    """The skill with no vendored websocket-client and none installed: --help works; a call is one line, exit 2."""
    script = ROOT / "skills" / "codex-ws-client" / "scripts" / "codex_ws_client.py"
    result = subprocess.run([str(bare_python), str(script), "--json", "hello"], capture_output=True, text=True,
                            env=clean_python_env(), timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == ("codex-ws-client: error: the Python package websocket-client is missing; "
                                     "install it with: python3 -m pip install websocket-client")
    envelope = validate_envelope(json.loads(result.stdout), "codex-ws-client")
    assert envelope["exit_code"] == 2 and "websocket-client" in envelope["error"]
    result = subprocess.run([str(bare_python), str(script), "--help"], capture_output=True, text=True,
                            env=clean_python_env(), timeout=60)
    assert result.returncode == 0 and "--uri" in result.stdout
