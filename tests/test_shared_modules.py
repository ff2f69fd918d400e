"""The package the clients share, agent_bridge, must stay identical: one canonical copy, two mirrors.
Identical copies under one name are what let a program import both clients and get one
ClientError and one Envelope."""
import re
import shutil
import subprocess
import sys

import pytest

from tests.helpers import ROOT, SKILLS

CANONICAL = SKILLS / "codex-ws-client" / "scripts" / "agent_bridge"
MIRRORS = [SKILLS / skill / "scripts" / "agent_bridge" for skill in ("claude-cli-client", "acp-client")]
SHARED = sorted(str(path.relative_to(CANONICAL)) for path in CANONICAL.glob("**/*.py"))


@pytest.mark.parametrize("mirror", MIRRORS, ids=lambda mirror: mirror.parent.parent.name)
def test_every_skill_carries_the_same_modules(mirror):
    assert SHARED == sorted(str(path.relative_to(mirror)) for path in mirror.glob("**/*.py")) and "outcome.py" in SHARED


@pytest.mark.parametrize("mirror", MIRRORS, ids=lambda mirror: mirror.parent.parent.name)
@pytest.mark.parametrize("module", SHARED)
def test_shared_module_is_identical_in_every_skill(module, mirror):
    assert (mirror / module).read_bytes() == (CANONICAL / module).read_bytes(), \
        f"{module} differs: edit the codex-ws-client copy and run scripts/sync-shared.sh"


def test_shared_modules_import_only_each_other():
    for module in SHARED:
        for line in (CANONICAL / module).read_text().splitlines():
            if line.startswith("from ."):
                assert _imported_file(module, line.split()[1]) in SHARED, f"{module}: {line}"
            assert not line.startswith(("from codex_client", "from claude_client", "from acp_client")), \
                f"{module}: {line}"


def _imported_file(module, relative):
    """'cli/render.py' for `from .render` in cli/progress.py, 'outcome.py' for `from ..outcome` there."""
    dots = len(relative) - len(relative.lstrip("."))
    folder = module.split("/")[:-1]
    folder = folder[:len(folder) - (dots - 1)]
    return "/".join(folder + [relative.lstrip(".") + ".py"])


def test_the_core_imports_nothing_of_the_command_line():
    for module in SHARED:
        if not module.startswith("cli/"):
            text = (CANONICAL / module).read_text()
            assert ".cli" not in text and "argparse" not in text, module


def test_one_error_hierarchy_for_both_clients_in_one_process():
    """Run apart from the test process, whose sys.path already holds one skill's scripts."""
    code = f"""
import sys
sys.path[:0] = [{str(SKILLS / "codex-ws-client" / "scripts")!r}, {str(SKILLS / "claude-cli-client" / "scripts")!r}]
import claude_client, codex_client
assert claude_client.ClientError is codex_client.ClientError and claude_client.Envelope is codex_client.Envelope
try:
    claude_client.Session(claude_bin="no-such-claude")
except codex_client.ConnectionFailed as error:
    print(type(error).__name__, error.exit_code, error.setting)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ConnectionFailed", "3", "claude_bin"]


def test_the_core_version_is_the_release_of_the_skills():
    release = re.search(r'^VERSION = "([^"]+)"', (ROOT / "scripts" / "install.py").read_text(), re.M).group(1)
    assert _core_version(CANONICAL) == release


def _core_version(agent_bridge):
    return re.search(r'^CORE_VERSION = "([^"]+)"', (agent_bridge / "__init__.py").read_text(), re.M).group(1)


def _two_installed_skills(tmp_path, claude_core_version):
    """Copies of both skills' scripts in folders of their own; the claude copy's core says `claude_core_version`."""
    codex, claude = tmp_path / "one" / "codex-ws-client", tmp_path / "other" / "claude-cli-client"
    for skill, copy in (("codex-ws-client", codex), ("claude-cli-client", claude)):
        shutil.copytree(SKILLS / skill / "scripts", copy, ignore=shutil.ignore_patterns("__pycache__"))
    core = claude / "agent_bridge" / "__init__.py"
    core.write_text(core.read_text().replace(f'CORE_VERSION = "{_core_version(CANONICAL)}"',
                                             f'CORE_VERSION = "{claude_core_version}"'))
    return codex, claude


def _import_both(codex, claude):
    code = f"""
import sys
sys.path[:0] = [{str(codex)!r}, {str(claude)!r}]
import codex_client
try:
    import claude_client
except ImportError as error:
    sys.exit(str(error))
print(claude_client.ClientError is codex_client.ClientError)
"""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)


def test_two_skills_of_one_release_share_one_core(tmp_path):
    codex, claude = _two_installed_skills(tmp_path, _core_version(CANONICAL))
    done = _import_both(codex, claude)
    assert (done.returncode, done.stdout, done.stderr) == (0, "True\n", "")


def test_a_skill_of_another_release_says_so_in_one_line_naming_both_versions_and_folders(tmp_path):
    codex, claude = _two_installed_skills(tmp_path, "9.9.9")
    done = _import_both(codex, claude)
    assert done.returncode == 1 and done.stdout == ""
    line, = done.stderr.splitlines()
    assert "9.9.9" in line and _core_version(CANONICAL) in line, line
    assert str(claude) in line and str(codex / "agent_bridge") in line, line
