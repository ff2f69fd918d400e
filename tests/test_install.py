"""scripts/install.sh (and install.py behind it): install, update, uninstall, and the real
codex discovering what was installed."""
import hashlib
import json
import os
import re
import resource
import selectors
import shutil
import signal
import subprocess
import sys
import time

import pytest

from tests.codex.conftest import CodexServer
from fixtures.fakes import responses_api
from tests.helpers import CODEX_BIN, ROOT, SKILLS, validate_envelope
from tests.install_helpers import (
    INSTALL_PS1, INSTALL_SH, MANIFEST, SkillsClient, bare_venv, clean_python_env, files_of, install_command,
    git, make_source, manifest_of, one_line_error, run_install, snapshot, unwritable, write)

ALL = ["codex-ws-client", "claude-cli-client", "brainstorm", "acp-client"]
TARGET_DIRS = {"codex": ".codex/skills", "agents": ".agents/skills", "claude": ".claude/skills"}


@pytest.fixture
def bench(tmp_path):
    """An empty project, an empty home, and a fake skills/ source folder."""
    class Bench:
        project = tmp_path / "project"
        home = tmp_path / "home"
        source = tmp_path / "src" / "skills"
        expected = make_source(tmp_path / "src" / "skills")

        def install(self, *args, cwd=None, env=None, preexec_fn=None):
            return run_install(*args, *self.options(), cwd=cwd or self.project, home=self.home, env=env,
                               preexec_fn=preexec_fn)

        def options(self):
            return ["--source", self.source]

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

def test_default_installs_every_skill_into_the_current_directory_codex_folder(bench):
    result = bench.install()
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[:2] for line in lines] == [["installed", "codex-ws-client"],
                                                    ["installed", "claude-cli-client"],
                                                    ["installed", "brainstorm"],
                                                    ["installed", "acp-client"]]
    for skill in ALL:
        skill_dir = installed(bench.project, "codex", skill)
        assert str(skill_dir) in result.stdout
        assert_installed(skill_dir, bench.expected[skill])  # no __pycache__, no *.pyc
    assert os.access(installed(bench.project, "codex", "codex-ws-client") / "scripts" / "codex_ws_client.py",
                     os.X_OK)
    assert sorted(os.listdir(bench.project)) == [".codex"]
    assert sorted(os.listdir(bench.project / ".codex" / "skills")) == sorted(ALL)


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


def test_installing_brainstorm_installs_the_two_clients_it_runs(bench):
    result = bench.install("brainstorm")
    assert result.returncode == 0, result.stderr
    assert [line.split()[1] for line in result.stdout.splitlines()] == ["codex-ws-client", "claude-cli-client",
                                                                       "brainstorm"]
    for skill in ("codex-ws-client", "claude-cli-client", "brainstorm"):
        assert_installed(installed(bench.project, "codex", skill), bench.expected[skill])
    removed = bench.install("--uninstall", "brainstorm")   # an uninstall removes only what is named
    assert removed.returncode == 0, removed.stderr
    assert sorted(os.listdir(bench.project / ".codex" / "skills")) == ["claude-cli-client", "codex-ws-client"]


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
                if not any(f".codex/skills/{skill}" in rel for skill in ALL)}

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
    assert len(result.stdout.splitlines()) == 3 * len(ALL)
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
                                          "(nothing to remove)" for skill in ALL]
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
    line = one_line_error(bench.install())
    assert expect in line, line
    assert snapshot(bench.project) == {}


@pytest.mark.parametrize("args, expect", [
    (["no-such-skill"], "unknown skill 'no-such-skill'"),
    (["--target", "codex,vim"], "unknown target 'vim'"),
    (["--global", "--project", "."], "not allowed with argument"),
    (["--project", "does-not-exist"], "not found"),
    (["--project", ""], "--project needs a folder name, not an empty string"),
    (["--bogus"], "unrecognized arguments: --bogus"),
])
def test_bad_arguments_are_one_line_errors(bench, args, expect):
    line = one_line_error(bench.install(*args))
    assert expect in line, line
    assert snapshot(bench.project) == {} and snapshot(bench.home) == {}


@pytest.mark.parametrize("home", ["", "relative/home"], ids=["empty", "relative"])
@pytest.mark.parametrize("action", [[], ["--uninstall"], ["--list"]], ids=["install", "uninstall", "list"])
def test_global_needs_home_to_be_an_absolute_path(bench, home, action):
    line = one_line_error(bench.install("--global", *action, env={"HOME": home}))
    assert line == f"install: error: HOME={home!r} is not an absolute path; set HOME to your home folder"
    assert snapshot(bench.project) == {}


def test_a_file_where_the_target_folder_goes_is_one_line(bench):
    write(bench.project / ".codex", "a file of mine")
    line = one_line_error(bench.install())
    assert line == (f"install: error: {bench.project / '.codex'} is in the way: a folder is needed there; "
                    "move it away first")
    assert snapshot(bench.project) == {".codex": b"a file of mine"}


def test_help(bench):
    result = bench.install("--help")
    assert result.returncode == 0
    for option in ["--project", "--global", "--target", "--uninstall", "--list", "--dry-run", "--force",
                   "--version", "codex-ws-client", ".agents/skills", ".claude/skills", MANIFEST, ".git/info/exclude"]:
        assert option in result.stdout
    assert installer_exit_codes() == ["0", "1", "2", "130"]


def installer_exit_codes():
    help_text = subprocess.run(["sh", str(INSTALL_SH), "--help"], capture_output=True, text=True).stdout
    return re.findall(r"^  (\d+) ", help_text.split("exit status:\n")[1].split("\n\n")[0], re.M)


# ----------------------------------------------------------------------------- READMEs

@pytest.mark.parametrize("readme, heading", [("README.md", "## Install"), ("README.zh.md", "## 安装")])
def test_readme_install_section_lists_the_exit_codes_and_leads_with_project(readme, heading):
    section = (ROOT / readme).read_text(encoding="utf-8").split(heading + "\n")[1].split("\n## ")[0]
    assert re.findall(r"^- `(\d+)`", section, re.M) == installer_exit_codes()
    first_command = next(line for line in section.splitlines() if line.startswith("    "))
    assert first_command.strip().startswith("scripts/install.sh --project DIR")


def test_gitignore_covers_what_an_install_into_the_clone_creates():
    paths = [f"{TARGET_DIRS[target]}/{skill}/{MANIFEST}" for target in TARGET_DIRS for skill in ALL]
    result = subprocess.run(["git", "check-ignore", "--no-index", *paths], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.stdout.splitlines() == paths


# ----------------------------------------------------------------------------- all or nothing

def test_a_reinstall_stopped_by_a_folder_in_the_way_changes_nothing(bench):
    assert bench.install().returncode == 0
    write(bench.source / "codex-ws-client" / "SKILL.md", "---\nname: codex-ws-client\ndescription: v2\n---\n")
    write(bench.source / "codex-ws-client" / "scripts" / "codex_client" / "zz_new.py", "NEW = 1\n")
    write(installed(bench.project, "codex", "codex-ws-client") / "scripts" / "codex_client" / "zz_new.py" /
          "mine.txt", "a folder of mine where the new version puts a file")
    before = snapshot(bench.project)
    line = one_line_error(bench.install())
    assert "zz_new.py: a folder is in the way" in line, line
    assert snapshot(bench.project) == before


def test_an_uninstall_stopped_by_an_unwritable_folder_changes_nothing(bench):
    assert bench.install().returncode == 0
    before = snapshot(bench.project)
    folder = installed(bench.project, "codex", "claude-cli-client") / "scripts" / "claude_client"
    with unwritable(folder):
        line = one_line_error(bench.install("--uninstall"))
    assert f"cannot write in {folder}" in line, line
    assert snapshot(bench.project) == before


def test_a_project_that_cannot_be_written_is_refused(bench):
    with unwritable(bench.project):
        line = one_line_error(bench.install())
    assert line == f"install: error: cannot write in {bench.project}: permission denied"
    assert snapshot(bench.project) == {}


def test_a_write_failing_part_way_exits_1_and_the_same_command_then_finishes(bench):
    write(bench.source / "codex-ws-client" / "references" / "zz-big.md", "x" * 300_000)
    bench.expected["codex-ws-client"]["references/zz-big.md"] = b"x" * 300_000

    def small_files_only():  # writing a file of more than 100 kB fails (EFBIG)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))

    result = bench.install(preexec_fn=small_files_only)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("install: error: stopped part way: installing codex-ws-client")
    assert "re-run the same command" in result.stderr and len(result.stderr.splitlines()) == 1
    assert not any("install-tmp" in rel for rel in snapshot(bench.project))

    result = bench.install()
    assert result.returncode == 0, result.stderr
    for skill in ALL:
        assert_installed(installed(bench.project, "codex", skill), bench.expected[skill])
    assert bench.install("--uninstall").returncode == 0
    assert snapshot(bench.project) == {}


# ----------------------------------------------------------------------------- the user's changes

def test_a_reinstall_keeps_a_file_the_user_changed_unless_forced(bench):
    assert bench.install().returncode == 0
    usage = installed(bench.project, "codex", "codex-ws-client") / "references" / "usage.md"
    write(usage, usage.read_text() + "my own line\n")
    before = snapshot(bench.project)
    line = one_line_error(bench.install())
    assert "you changed 1 installed file(s)" in line and "references/usage.md" in line and "--force" in line
    assert snapshot(bench.project) == before

    result = bench.install("--force")
    assert result.returncode == 0, result.stderr
    assert "replaced 1 file(s) you changed: references/usage.md" in result.stdout
    assert_installed(usage.parent.parent, bench.expected["codex-ws-client"])


def test_after_an_uninstall_that_kept_the_users_files_force_installs_again(bench):
    assert bench.install("codex-ws-client").returncode == 0
    skill_dir = installed(bench.project, "codex", "codex-ws-client")
    write(skill_dir / "notes.md", "mine")
    write(skill_dir / "SKILL.md", "my edit")
    assert bench.install("--uninstall").returncode == 0
    assert files_of(skill_dir) == {"notes.md": b"mine", "SKILL.md": b"my edit"}

    uninstall_again = bench.install("--uninstall", "codex-ws-client")
    assert "install over them with --force" in uninstall_again.stdout
    assert "--force" in one_line_error(bench.install("codex-ws-client"))
    result = bench.install("codex-ws-client", "--force")
    assert result.returncode == 0, result.stderr
    assert "replaced 1 file(s) you changed: SKILL.md" in result.stdout
    assert files_of(skill_dir).pop("notes.md") == b"mine"
    (skill_dir / "notes.md").unlink()
    assert_installed(skill_dir, bench.expected["codex-ws-client"])


# ----------------------------------------------------------------------------- installs at once

def wait_for_exit(processes, timeout=120):
    deadline = time.monotonic() + timeout
    return [process.communicate(timeout=max(1, deadline - time.monotonic())) for process in processes]


@pytest.mark.parametrize("round_", range(3))
def test_installs_run_at_once_into_one_project_all_succeed_and_keep_a_correct_record(bench, round_):
    variants = [[], ["codex-ws-client"], ["--target", "codex,agents"], ["claude-cli-client", "--target", "agents"],
                [], ["--target", "agents,codex"]]
    processes = []
    for args in variants:
        argv, env = install_command(*args, *bench.options(), home=bench.home)
        processes.append(subprocess.Popen(argv, cwd=bench.project, env=env, stdin=subprocess.DEVNULL,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outputs = wait_for_exit(processes)
    for process, (stdout, stderr) in zip(processes, outputs):
        assert process.returncode == 0, stderr
        assert all(line.startswith("install: waiting for another install") for line in stderr.splitlines())
    for target in ("codex", "agents"):
        for skill in ALL:
            assert_installed(installed(bench.project, target, skill), bench.expected[skill])
    result = bench.install("--uninstall", "--target", "codex,agents")
    assert result.returncode == 0, result.stderr
    assert snapshot(bench.project) == {}  # the record of the folders created was kept


def start_install_while_locked(bench):
    """Holds the lock an install takes on the project folder, starts an install, and returns it
    once it says it waits."""
    import fcntl
    holder = os.open(bench.project, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)
    argv, env = install_command(*bench.options(), home=bench.home)
    process = subprocess.Popen(argv, cwd=bench.project, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with selectors.DefaultSelector() as selector:
        selector.register(process.stderr, selectors.EVENT_READ)
        assert selector.select(timeout=60), "the install did not say it waits"
    assert process.stderr.readline() == f"install: waiting for another install into {bench.project} to finish\n"
    return process, holder


def test_an_install_waits_for_the_lock_and_then_runs(bench):
    process, holder = start_install_while_locked(bench)
    assert snapshot(bench.project) == {}
    os.close(holder)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert len(stdout.splitlines()) == len(ALL)
    assert_installed(installed(bench.project, "codex", "codex-ws-client"), bench.expected["codex-ws-client"])


def test_an_install_waiting_for_the_lock_can_be_interrupted(bench):
    process, holder = start_install_while_locked(bench)
    try:
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        os.close(holder)
    assert process.returncode == 130
    assert (stdout, stderr) == ("", "install: interrupted\n")
    assert snapshot(bench.project) == {}


# ----------------------------------------------------------------------------- dry run, list, version

def test_version_is_the_skills_version_and_goes_into_the_manifest(bench):
    core = (SKILLS / "codex-ws-client" / "scripts" / "agent_bridge" / "__init__.py").read_text()
    version = re.search(r'CORE_VERSION = "(.+)"', core).group(1)
    result = bench.install("--version")
    assert (result.returncode, result.stdout) == (0, f"install {version}\n")
    result = bench.install("codex-ws-client")
    assert result.stdout.startswith(f"installed codex-ws-client {version} into ")
    assert manifest_of(installed(bench.project, "codex", "codex-ws-client"))["version"] == version


def test_an_update_says_from_which_version_to_which(bench):
    assert bench.install("codex-ws-client").returncode == 0
    skill_dir = installed(bench.project, "codex", "codex-ws-client")
    manifest = manifest_of(skill_dir)
    new_version = manifest["version"]
    manifest["version"] = "1.0.0"  # as an older install wrote it
    (skill_dir / MANIFEST).write_text(json.dumps(manifest))
    result = bench.install("codex-ws-client")
    assert result.stdout.startswith(f"updated codex-ws-client 1.0.0 → {new_version} in {skill_dir} (")
    assert manifest_of(skill_dir)["version"] == new_version


def test_dry_run_says_what_would_change_and_changes_nothing(bench):
    result = bench.install("--dry-run", "--target", "codex,claude")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2 * len(ALL) and all(line.startswith("would install ") for line in lines)
    assert "; websocket-client 1.8.0 in scripts/_vendor)" in lines[0]
    assert snapshot(bench.project) == {}

    assert bench.install().returncode == 0
    write(installed(bench.project, "codex", "codex-ws-client") / "notes.md", "mine")
    before = snapshot(bench.project)
    update = bench.install("--dry-run")
    assert [line.split()[:2] for line in update.stdout.splitlines()] == [["would", "update"]] * len(ALL)
    remove = bench.install("--dry-run", "--uninstall")
    assert [line.split()[:2] for line in remove.stdout.splitlines()] == [["would", "remove"]] * len(ALL)
    write(bench.source / "claude-cli-client" / "SKILL.md", "not a skill")
    assert "name: claude-cli-client" in one_line_error(bench.install("--dry-run"))
    assert snapshot(bench.project) == before


def test_list_shows_what_is_installed_where_with_versions(bench):
    result = bench.install("--list")
    assert result.stdout == (f"none of {', '.join(ALL)} is installed in {bench.project} "
                             "(.codex/skills, .agents/skills, .claude/skills)\n")
    assert bench.install("--target", "codex,claude", "claude-cli-client").returncode == 0
    write(bench.project / ".agents" / "skills" / "codex-ws-client" / "SKILL.md", "copied by hand")
    before = snapshot(bench.project)
    version = manifest_of(installed(bench.project, "codex", "claude-cli-client"))["version"]
    lines = bench.install("--list").stdout.splitlines()
    assert [line.split(" (")[0] for line in lines] == [
        f"claude-cli-client {version} in {bench.project / '.codex' / 'skills'}",
        f"codex-ws-client in {bench.project / '.agents' / 'skills'}: not installed by this installer",
        f"claude-cli-client {version} in {bench.project / '.claude' / 'skills'}"]
    assert bench.install("--list", "--target", "claude").stdout.splitlines() == lines[2:]
    assert snapshot(bench.project) == before


# ----------------------------------------------------------------------------- git projects

MARKER = "# skill folders installed by scripts/install.py (its --uninstall removes these lines)"


def exclude_file(repo, home):
    return repo / git("rev-parse", "--git-path", "info/exclude", cwd=repo, home=home).strip()


def untracked(repo, home):
    return git("status", "--porcelain", "--untracked-files=all", cwd=repo, home=home).splitlines()


def test_a_project_install_in_git_keeps_the_skills_out_of_git_status_and_uninstall_restores_exclude(bench):
    git("init", "-q", cwd=bench.project, home=bench.home)
    write(bench.project / "app.py", "print('my change')\n")
    exclude = exclude_file(bench.project, bench.home)
    before = exclude.read_bytes()
    assert before  # git's own template, which must survive

    result = bench.install("--target", "codex,claude")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == (f"added {2 * len(ALL)} skill folder(s) to {exclude}, so that git status skips "
                                              "them (this clone only; tracked files are unaffected)")
    write(installed(bench.project, "codex", "codex-ws-client") / "scripts" / "__pycache__" / "x.pyc", "as a run writes")
    assert untracked(bench.project, bench.home) == ["?? app.py"]
    skill_dirs = [f"{TARGET_DIRS[target]}/{skill}/" for skill in ALL for target in ("codex", "claude")]
    assert git("check-ignore", *skill_dirs, cwd=bench.project, home=bench.home).splitlines() == skill_dirs
    assert exclude.read_text() == before.decode() + "\n".join([MARKER] + ["/" + d for d in skill_dirs]) + "\n"

    after_install = exclude.read_bytes()
    again = bench.install("--target", "codex,claude")
    assert again.returncode == 0, again.stderr
    assert "skill folder(s)" not in again.stdout
    assert exclude.read_bytes() == after_install  # no duplicate lines
    assert "exclude" not in bench.install("--list").stdout

    with open(exclude, "a") as handle:
        handle.write("*.log\n")  # the user's own line, after ours
    result = bench.install("--uninstall", "--target", "claude", "codex-ws-client")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"removed the lines of 1 skill folder(s) from {exclude}"
    assert "/.claude/skills/codex-ws-client/" not in exclude.read_text().splitlines()
    result = bench.install("--uninstall", "--target", "codex,claude")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"removed the lines of {2 * len(ALL) - 1} skill folder(s) from {exclude}"
    assert exclude.read_bytes() == before + b"*.log\n"
    assert untracked(bench.project, bench.home) == ["?? app.py"]


def test_uninstall_leaves_an_exclude_file_with_crlf_and_non_utf8_bytes_byte_identical(bench):
    git("init", "-q", cwd=bench.project, home=bench.home)
    exclude = exclude_file(bench.project, bench.home)
    before = b"# r\xe9sum\xe9s (latin-1)\r\n/build/\r\n"
    exclude.write_bytes(before)
    assert bench.install("codex-ws-client").returncode == 0
    assert exclude.read_bytes().startswith(before)
    assert untracked(bench.project, bench.home) == []
    assert bench.install("--uninstall").returncode == 0
    assert exclude.read_bytes() == before


@pytest.mark.parametrize("subfolder", ["app", "web app [v2]*"], ids=["plain", "glob-characters"])
def test_an_install_into_a_subfolder_project_roots_the_path_at_the_repository_top(bench, subfolder):
    repo = bench.project
    git("init", "-q", cwd=repo, home=bench.home)
    project = repo / "services" / subfolder
    project.mkdir(parents=True)
    look_alike = "other/.codex/skills/codex-ws-client/SKILL.md"  # the same path below another folder
    write(repo / look_alike, "not installed")
    result = bench.install("codex-ws-client", cwd=project)
    assert result.returncode == 0, result.stderr
    lines = exclude_file(repo, bench.home).read_text().splitlines()
    assert lines[-1] == "/services/" + subfolder.replace("[", "\\[").replace("*", "\\*") + \
        "/.codex/skills/codex-ws-client/"
    assert untracked(repo, bench.home) == [f"?? {look_alike}"]


def test_an_install_into_a_linked_worktree_uses_the_repositorys_exclude_file(bench, tmp_path):
    git("init", "-q", cwd=bench.project, home=bench.home)
    write(bench.project / "README", "x\n")
    git("add", "README", cwd=bench.project, home=bench.home)
    git("commit", "-q", "-m", "first", cwd=bench.project, home=bench.home)
    worktree = tmp_path / "worktree"
    git("worktree", "add", "-q", str(worktree), cwd=bench.project, home=bench.home)
    result = bench.install("codex-ws-client", cwd=worktree)
    assert result.returncode == 0, result.stderr
    assert f"to {bench.project / '.git' / 'info' / 'exclude'}," in result.stdout
    assert untracked(worktree, bench.home) == []


def test_a_project_outside_git_gets_no_git_files(bench):
    outside = subprocess.run(["git", "rev-parse", "--git-dir"], cwd=bench.project, capture_output=True)
    assert outside.returncode != 0  # else this test proves nothing
    result = bench.install()
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == len(ALL)
    assert not any(".git" in rel for rel in snapshot(bench.project))


def test_without_git_on_path_the_install_leaves_the_exclude_file_alone(bench, tmp_path):
    git("init", "-q", cwd=bench.project, home=bench.home)
    before = snapshot(bench.project / ".git")
    no_git = tmp_path / "bin"  # just what install.sh runs
    no_git.mkdir()
    for tool in ("sh", "dirname"):
        os.symlink(shutil.which(tool), no_git / tool)
    result = bench.install(env={"PATH": str(no_git)})
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == len(ALL) and result.stderr == ""
    assert snapshot(bench.project / ".git") == before


def test_dry_run_in_git_says_it_would_change_the_exclude_file_and_changes_nothing(bench):
    git("init", "-q", cwd=bench.project, home=bench.home)
    exclude = exclude_file(bench.project, bench.home)
    before = snapshot(bench.project)
    result = bench.install("--dry-run")
    assert result.stdout.splitlines()[-1].startswith(f"would add {len(ALL)} skill folder(s) to {exclude}, ")
    assert snapshot(bench.project) == before

    assert bench.install().returncode == 0
    before = snapshot(bench.project)
    result = bench.install("--dry-run", "--uninstall")
    assert result.stdout.splitlines()[-1] == f"would remove the lines of {len(ALL)} skill folder(s) from {exclude}"
    assert snapshot(bench.project) == before


def test_an_exclude_file_that_cannot_be_written_only_warns(bench):
    git("init", "-q", cwd=bench.project, home=bench.home)
    exclude = exclude_file(bench.project, bench.home)
    before = exclude.read_bytes()
    with unwritable(exclude.parent):
        result = bench.install("codex-ws-client")
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith(f"install: warning: cannot update {exclude}: ")
    assert len(result.stderr.splitlines()) == 1 and "[Errno" not in result.stderr
    assert_installed(installed(bench.project, "codex", "codex-ws-client"), bench.expected["codex-ws-client"])
    assert exclude.read_bytes() == before


# ----------------------------------------------------------------------------- wrappers

def test_sh_wrapper_finds_python_on_path(bench):
    result = run_install("--help", cwd=bench.project, home=bench.home, python=None)
    assert result.returncode == 0, result.stderr
    assert "--uninstall" in result.stdout


def test_sh_wrapper_reports_a_bad_python(bench):
    line = one_line_error(run_install("--help", cwd=bench.project, home=bench.home,
                                      python="/nonexistent/python3"))
    assert "PYTHON" in line


def test_sh_wrapper_refuses_a_python_older_than_3_9(bench, tmp_path):
    old_python = tmp_path / "python2"  # answers like Python 2 does: the version check fails
    write(old_python, "#!/bin/sh\necho 'SyntaxError: invalid syntax' >&2\nexit 1\n")
    old_python.chmod(0o755)
    line = one_line_error(run_install("--help", cwd=bench.project, home=bench.home, python=old_python))
    assert line == f"install.sh: error: PYTHON={old_python} is not Python 3.9 or newer"


def test_sh_wrapper_runs_through_symlinks(bench, tmp_path):
    (tmp_path / "bin").mkdir()
    os.symlink(INSTALL_SH, tmp_path / "bin" / "install-skills")
    os.symlink("install-skills", tmp_path / "bin" / "skills-install")  # relative, to the first link
    for name in ("install-skills", "skills-install"):
        result = run_install("--help", cwd=bench.project, home=bench.home, script=tmp_path / "bin" / name)
        assert result.returncode == 0, result.stderr
        assert "--uninstall" in result.stdout


def test_ps1_wrapper_only_locates_python_and_forwards_everything():
    # pwsh is not available here; this checks the wrapper stays a thin one.
    text = INSTALL_PS1.read_text()
    assert "Join-Path $PSScriptRoot 'install.py'" in text
    assert "& $exe @pre $installer @forward" in text and "exit $LASTEXITCODE" in text
    # A PYTHON that is set is the only candidate: an old one is an error, not a reason to try another.
    assert "if ($env:PYTHON) { $candidates = @(, @($env:PYTHON)) }" in text
    assert "is not Python 3.9 or newer" in text
    for cmdlet in ("Copy-Item", "Remove-Item", "New-Item", "Set-Content", "pip"):
        assert cmdlet not in text


# ----------------------------------------------------------------------------- dependency

def test_the_vendored_websocket_client_is_copied_into_the_codex_skill_of_every_target(tmp_path):
    """From the repository's own skills, with a Python that has no pip: nothing is fetched."""
    (tmp_path / "project").mkdir()
    (tmp_path / "home").mkdir()
    no_pip = bare_venv(tmp_path / "venv")
    result = run_install("--target", "codex,claude", cwd=tmp_path / "project", home=tmp_path / "home",
                         python=no_pip, env=clean_python_env())
    assert result.returncode == 0, result.stderr
    source_vendor = {rel: data for rel, data in files_of(SKILLS / "codex-ws-client" / "scripts" / "_vendor").items()
                     if "__pycache__" not in rel}
    pinned = (SKILLS / "codex-ws-client" / "scripts" / "_vendor" / "vendor.txt").read_text().split("==")[1].strip()
    for target in ("codex", "claude"):
        skill_dir = installed(tmp_path / "project", target, "codex-ws-client")
        assert files_of(skill_dir / "scripts" / "_vendor") == source_vendor
        assert manifest_of(skill_dir)["vendored"] == {"websocket-client": pinned}
        assert f"websocket-client {pinned} in scripts/_vendor" in result.stdout
        assert not (installed(tmp_path / "project", target, "claude-cli-client") / "scripts" / "_vendor").exists()


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
                for skill in entries[0]["skills"] if skill["name"] in ALL}

    yield ask
    for server, fake in started:
        server.stop()
        fake.stop()


def expected_skills(skills_dirs, scope):
    return {(name, os.path.realpath(skills_dir / name / "SKILL.md"), scope)
            for skills_dir in skills_dirs for name in ALL}


@pytest.mark.parametrize("in_git", [False, True], ids=["plain", "git"])
def test_real_codex_lists_every_skill_after_a_project_install(tmp_path, codex_skills, in_git):
    project, home = tmp_path / "project", tmp_path / "home"
    project.mkdir()
    home.mkdir()
    if in_git:  # the installer lists the skill folders in .git/info/exclude: codex still finds them
        git("init", "-q", cwd=project, home=home)
    result = run_install("--target", "codex,agents", cwd=project, home=home)  # the repository's skills
    assert result.returncode == 0, result.stderr
    assert ("skill folder(s) to" in result.stdout) == in_git
    listed = codex_skills(tmp_path / "codex-home", home, project)
    assert listed == expected_skills([project / ".codex" / "skills", project / ".agents" / "skills"], "repo")


@pytest.mark.parametrize("codex_home_set", [False, True], ids=["default-codex-home", "CODEX_HOME"])
def test_real_codex_lists_every_skill_after_a_global_install(tmp_path, codex_skills, codex_home_set):
    home, elsewhere = tmp_path / "home", tmp_path / "some-project"
    home.mkdir()
    elsewhere.mkdir()
    codex_home = tmp_path / "custom-codex-home" if codex_home_set else home / ".codex"
    env = {"CODEX_HOME": str(codex_home)} if codex_home_set else {}
    result = run_install("--global", "--target", "codex,agents", cwd=elsewhere, home=home, env=env)
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


def test_without_websocket_client_the_script_says_how_to_fix_it(bare_python, tmp_path):
    """The skill with its vendored websocket-client removed and none installed: --help works; a wss:// call
    (TLS needs the package) is one line, exit 2."""
    skill = shutil.copytree(SKILLS / "codex-ws-client", tmp_path / "codex-ws-client",
                            ignore=shutil.ignore_patterns("_vendor", "__pycache__"))
    script = skill / "scripts" / "codex_ws_client.py"
    result = subprocess.run([str(bare_python), str(script), "--uri", "wss://127.0.0.1:9", "--json", "hello"],
                            capture_output=True, text=True, env=clean_python_env(), timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == ("codex-ws-client: error: the Python package websocket-client is missing "
                                     "(needed for wss:// and HTTP proxies); "
                                     "install it with: python3 -m pip install websocket-client")
    envelope = validate_envelope(json.loads(result.stdout), "codex-ws-client")
    assert envelope["exit_code"] == 2 and "websocket-client" in envelope["error"]
    result = subprocess.run([str(bare_python), str(script), "--help"], capture_output=True, text=True,
                            env=clean_python_env(), timeout=60)
    assert result.returncode == 0 and "--uri" in result.stdout


def test_an_install_ships_bytecode_used_even_where_python_writes_none(bench, vendored_codex_skill):
    """A read-only install, or one run with PYTHONDONTWRITEBYTECODE=1, starts from the shipped bytecode."""
    package = vendored_codex_skill / "scripts" / "codex_client"
    cache_tag = sys.implementation.cache_tag
    assert all((package / "__pycache__" / f"{module.stem}.{cache_tag}.pyc").is_file()
               for module in package.glob("*.py"))
    # A user's Python: no PYTHONPYCACHEPREFIX (the suite sets one for itself), which would look elsewhere.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPYCACHEPREFIX"}
    verbose = subprocess.run([sys.executable, "-v", str(vendored_codex_skill / "scripts" / "codex_ws_client.py"),
                              "--help"], capture_output=True, text=True, timeout=60,
                             env=dict(env, PYTHONDONTWRITEBYTECODE="1"))
    assert verbose.returncode == 0, verbose.stderr
    cli_bytecode = package / "cli" / "__pycache__" / f"app.{cache_tag}.pyc"
    assert f"code object from '{cli_bytecode}'" in verbose.stderr


def test_the_bytecode_is_shipped_even_when_the_installing_python_caches_elsewhere(bench, tmp_path):
    """With PYTHONPYCACHEPREFIX set, Python would write the compiled files under that folder, and
    the installed copy would carry none."""
    assert bench.install(env={"PYTHONPYCACHEPREFIX": str(tmp_path / "elsewhere")}).returncode == 0
    package = installed(bench.project, "codex", "codex-ws-client") / "scripts" / "codex_client"
    assert (package / "__pycache__" / f"cli.{sys.implementation.cache_tag}.pyc").is_file()


def test_uninstall_removes_the_bytecode_caches_too(bench):
    assert bench.install().returncode == 0
    cache = installed(bench.project, "codex", "codex-ws-client") / "scripts" / "codex_client" / "__pycache__"
    assert any(cache.glob("*.pyc"))
    write(cache / "written-by-python.pyc", "x")   # as a run of the client would leave
    assert bench.install("--uninstall").returncode == 0
    assert snapshot(bench.project) == {}
