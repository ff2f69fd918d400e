"""The prompts of each phase, from a style file under references/styles/ or the user's own file.

A style file has three sections, `[opening]`, `[reply]` and `[conclusions]`; in each, $topic,
$me, $other, $other_answer and $round are filled in. Lines starting with # are comments.
"""
import os
import re
from string import Template

from agent_bridge.cli.prompt_input import read_text_file
from agent_bridge.outcome import BadArguments

STYLES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                          "references", "styles")
STYLES = ("debate", "review", "plan")
PHASES = ("opening", "reply", "conclusions")
NAMES = {"codex": "Codex", "claude": "Claude"}

# Appended to every reply prompt, whatever the style, so --until-agree can read the answer.
CONVERGENCE_RULE = ("\n\nEnd your answer with one last line that is exactly `CONVERGED: yes` if you and "
                    "$other now agree on the substance, or `CONVERGED: no` if you do not.")
CONVERGED_LINE = re.compile(r"^\W*CONVERGED:\W*(yes|no)\b", re.IGNORECASE)


def load_style(style, style_file=None):
    """{phase: Template} from the user's file, else from the named style."""
    path = style_file or os.path.join(STYLES_DIR, f"{style}.txt")
    sections = _sections(read_text_file(path, "--style-file"))
    missing = [phase for phase in PHASES if not sections.get(phase, "").strip()]
    if missing:
        raise BadArguments(f"{path} has no [{'], ['.join(missing)}] section (see references/styles/debate.txt)")
    sections["reply"] = sections["reply"].strip() + CONVERGENCE_RULE
    return {phase: Template(sections[phase].strip()) for phase in PHASES}


def _sections(text):
    sections, current = {}, None
    for line in text.splitlines():
        header = re.fullmatch(r"\[(\w+)\]\s*", line)
        if header:
            current = header.group(1).lower()
            sections[current] = ""
        elif current is not None and not line.startswith("#"):
            sections[current] += line + "\n"
    return sections


def render(templates, phase, topic, me, round_number=1, other_answer=""):
    """The prompt `me` gets in `phase`."""
    other = "claude" if me == "codex" else "codex"
    return templates[phase].safe_substitute(topic=topic.strip(), me=NAMES[me], other=NAMES[other],
                                            other_answer=other_answer.strip(), round=round_number)


def converged(text):
    """True or False as the answer's last `CONVERGED: yes|no` line says (a reason may follow on that
    line, and a caller's text may go on after it); None when no line says so."""
    verdicts = [match.group(1).lower() for match in map(CONVERGED_LINE.match, text.splitlines()) if match]
    return verdicts[-1] == "yes" if verdicts else None
