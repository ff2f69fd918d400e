"""README.md and README.zh.md stay in step: the same commands and the same options."""
import re

from tests.helpers import ROOT


def _commands(text):
    """Lines of the indented code blocks (commands and examples), without their # comments."""
    return {line.split("  #")[0].strip() for line in text.splitlines() if line.startswith("    ") and line.strip()}


def _options(text):
    return set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", text))


def test_both_readmes_name_the_same_commands_and_options():
    english = (ROOT / "README.md").read_text(encoding="utf-8")
    chinese = (ROOT / "README.zh.md").read_text(encoding="utf-8")
    assert _commands(english) == _commands(chinese)
    assert _options(english) == _options(chinese)
    assert "scripts/test.sh" in chinese and "scripts/demo.sh" in chinese
