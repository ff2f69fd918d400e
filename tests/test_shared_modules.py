"""The modules both clients share must stay identical: one canonical copy, one mirror."""
import pytest

from tests.helpers import SKILLS

CANONICAL = SKILLS / "codex-ws-client" / "scripts" / "codex_client"
MIRROR = SKILLS / "claude-cli-client" / "scripts" / "claude_client"
SHARED = ["outcome.py", "prompt_input.py", "trace.py", "render.py", "repl.py", "inbox.py", "shapes.py",
          "call_limit.py", "turns.py", "driver.py"]


@pytest.mark.parametrize("module", SHARED)
def test_shared_module_is_identical_in_both_skills(module):
    assert (MIRROR / module).read_bytes() == (CANONICAL / module).read_bytes(), \
        f"{module} differs: edit the codex-ws-client copy and run scripts/sync-shared.sh"


def test_shared_modules_import_only_each_other():
    for module in SHARED:
        for line in (CANONICAL / module).read_text().splitlines():
            if line.startswith("from ."):
                assert line.split()[1][1:] + ".py" in SHARED, f"{module}: {line}"
