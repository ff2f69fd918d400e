"""Where a deliberation is kept: a Markdown transcript and, beside it, its state (the JSON envelope).

The state file is what --continue reads; the transcript is for people (and agents) to read.
"""
import json
import os
import re
import time

from agent_bridge.outcome import BadArguments

from .prompts import NAMES
from .record import SIDES, all_conclusions

DEFAULT_FOLDER = ".brainstorm"
FENCE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")   # a code fence (CommonMark): its marker, then the rest of the line


def default_transcript_path(cwd):
    """A new file in .brainstorm/ of `cwd`, named by the time; the folder ignores itself in git."""
    folder = os.path.join(cwd, DEFAULT_FOLDER)
    os.makedirs(folder, exist_ok=True)
    ignore = os.path.join(folder, ".gitignore")
    if not os.path.exists(ignore):
        with open(ignore, "w", encoding="utf-8") as handle:
            handle.write("*\n")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path, number = os.path.join(folder, f"brainstorm-{stamp}.md"), 1
    while os.path.exists(path):
        number += 1
        path = os.path.join(folder, f"brainstorm-{stamp}-{number}.md")
    return path


def state_path_for(transcript):
    root, extension = os.path.splitext(transcript)
    return (root if extension == ".md" else transcript) + ".json"


def paths_for(given):
    """(transcript, state file) of the deliberation `given` names: its state file (FILE.json) or
    its transcript (FILE.md); the other is beside it, with the same name."""
    given = os.path.abspath(given)
    if given.endswith(".json"):
        return given[:-len(".json")] + ".md", given
    return given, state_path_for(given)


def check_writable(path, option):
    """That `path` can be written, without creating it (the clients' check creates it: a run refused later,
    a busy deliberation say, would leave an empty file)."""
    target = path if os.path.exists(path) else os.path.dirname(path)
    if not os.access(target, os.W_OK):
        reason = "permission denied" if os.path.exists(target) else "no such directory"
        raise BadArguments(f"cannot write {option} {path}: {reason}")


def save(record):
    """Writes the state file, then the transcript (each replaced whole)."""
    _write(record["state_file"], json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    _write(record["transcript"], markdown(record))


def _write(path, text):
    partial = path + ".partial"
    with open(partial, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(partial, path)


def load(path):
    """The record saved in the state file of `path` (a transcript FILE.md or a state file FILE.json),
    with the paths it is to be written to: those of `path`, never any it holds."""
    transcript, state = paths_for(path)
    try:
        with open(state, encoding="utf-8") as handle:
            record = json.load(handle)
    except OSError as error:
        raise BadArguments(f"cannot read the state of --continue {path} ({state}): {error.strerror}") from None
    except ValueError as error:
        raise BadArguments(f"--continue {path}: {state} is not a brainstorm state file: {error}") from None
    if not isinstance(record, dict) or not isinstance(record.get("rounds"), list) or "topic" not in record:
        raise BadArguments(f"--continue {path}: {state} is not a brainstorm state file")
    record.setdefault("earlier_conclusions", [])
    record["transcript"], record["state_file"] = transcript, state
    return record


def markdown(record):
    """The transcript: a summary, the topic, then each round and each set of conclusions in order,
    every answer whole under its own heading."""
    lines = [f"# Brainstorm: {_first_line(record['topic'])}", ""]
    exit_code = "" if record["exit_code"] is None else f" (exit {record['exit_code']})"
    lines += [f"- style: {record['style']}; status: {record['status']}{exit_code}",
              f"- converged: {'yes' if record['converged'] else 'no'}",
              f"- Codex thread: {_id(record['codex_thread_id'])}; Claude session: {_id(record['claude_session_id'])}"]
    if record.get("as_peer"):
        lines.append(f"- {NAMES[record['as_peer']]}'s side was written by the calling agent")
    totals = record["totals"]
    lines.append(f"- tokens: {totals['input_tokens']} in, {totals['output_tokens']} out; "
                 f"cost: ${totals['cost_usd']:.4f} (Claude's); time: {totals['elapsed_ms'] / 1000:.1f} s")
    if record.get("error"):
        lines.append(f"- error: {record['error']}")
    lines += ["", "## Topic", "", with_fences_closed(record["topic"].strip()), ""]
    conclusions = {entries["after_round"]: entries for entries in all_conclusions(record)}
    if 0 in conclusions:
        lines += _answers("Conclusions after round 0", conclusions[0])
    for entries in record["rounds"]:
        lines += _answers(f"Round {entries['round']}", entries)
        if entries["round"] in conclusions:
            lines += _answers(f"Conclusions after round {entries['round']}", conclusions[entries["round"]])
    return "\n".join(lines)


def _answers(heading, entries):
    """A section with each side's answer under its own heading, as it was written."""
    lines = [f"## {heading}", ""]
    for side in SIDES:
        entry = entries.get(side)
        lines += [f"### {NAMES[side]}", ""]
        if entry and entry["exit_code"] != 0:
            lines += [f"**{entry['status']} (exit {entry['exit_code']}): {entry.get('error', '')}**", ""]
        if entry and entry["text"].strip():
            lines += [with_fences_closed(entry["text"].strip()), ""]
    return lines


def with_fences_closed(text):
    """`text`, with a closing fence added if a code block it opens is never closed: else the
    headings after it would show inside that block."""
    opened = None
    for line in text.splitlines():
        fence = FENCE.match(line)
        if not fence:
            continue
        marker, rest = fence.groups()
        if opened is None:
            opened = marker
        elif marker[0] == opened[0] and len(marker) >= len(opened) and not rest.strip():
            opened = None
    return text if opened is None else f"{text}\n{opened}"


def _id(value):
    return f"`{value}`" if value else "none"


def _first_line(text):
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= 80 else line[:79] + "\u2026"
