"""brainstorm reaches the clients only through their packages' public names, loaded in one place."""
import ast

from tests.helpers import SKILLS

SCRIPTS = SKILLS / "brainstorm" / "scripts"
LOADER = SCRIPTS / "brainstorm_lib" / "clients.py"
ENTRY = SCRIPTS / "brainstorm.py"
CLIENT_PACKAGES = ("codex_client", "claude_client", "acp_client")


def imported_modules(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module


def edits_sys_path(tree):
    return any(isinstance(node, ast.Attribute) and node.attr == "path" and isinstance(node.value, ast.Name)
               and node.value.id == "sys" for node in ast.walk(tree))


def test_brainstorm_imports_only_the_clients_top_level_packages_and_edits_sys_path_in_one_loader():
    sources = sorted(SCRIPTS.rglob("*.py"))
    for source in sources:
        tree = ast.parse(source.read_text())
        private = [name for name in imported_modules(tree)
                   if name.split(".")[0] in CLIENT_PACKAGES and name not in CLIENT_PACKAGES]
        assert private == [], f"{source.name} imports {private}: brainstorm uses the clients' public names only"
        if source not in (LOADER, ENTRY):   # the entry puts its own folder first, as Python does not under -P
            assert not edits_sys_path(tree), f"{source.name} edits sys.path: only the loader finds the clients"
    assert LOADER in sources
