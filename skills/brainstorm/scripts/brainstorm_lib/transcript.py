"""Where a deliberation is kept: a Markdown transcript and, beside it, its state (the JSON envelope).

The state file is what --continue reads; the transcript is for people (and agents) to read.
"""
import json
import os
import time

from .errors import BadArguments

DEFAULT_FOLDER = ".brainstorm"
NAMES = {"codex": "Codex", "claude": "Claude"}


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


def check_writable(path, option):
    try:
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as error:
        raise BadArguments(f"cannot write {option} {path}: {error.strerror}") from None


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
    """The record saved for a transcript (FILE.md) or a state file (FILE.json)."""
    state = path if path.endswith(".json") else state_path_for(path)
    try:
        with open(state, encoding="utf-8") as handle:
            record = json.load(handle)
    except OSError as error:
        raise BadArguments(f"cannot read the state of --continue {path} ({state}): {error.strerror}") from None
    except ValueError as error:
        raise BadArguments(f"--continue {path}: {state} is not a brainstorm state file: {error}") from None
    if not isinstance(record, dict) or not isinstance(record.get("rounds"), list) or "topic" not in record:
        raise BadArguments(f"--continue {path}: {state} is not a brainstorm state file")
    return record


def markdown(record):
    lines = [f"# Brainstorm: {_first_line(record['topic'])}", ""]
    lines += [f"- style: {record['style']}; status: {record['status']} (exit {record['exit_code']})",
              f"- Codex thread: `{record['codex_thread_id']}`; Claude session: `{record['claude_session_id']}`"]
    if record.get("as_peer"):
        lines.append(f"- {NAMES[record['as_peer']]}'s side was written by the calling agent")
    totals = record["totals"]
    lines.append(f"- tokens: {totals['input_tokens']} in, {totals['output_tokens']} out; "
                 f"cost: ${totals['cost_usd']:.4f} (Claude's); time: {totals['elapsed_ms'] / 1000:.1f} s")
    if record.get("error"):
        lines.append(f"- error: {record['error']}")
    lines += ["", "## Topic", "", record["topic"].strip(), ""]
    for entries in record["rounds"]:
        lines += [f"## Round {entries['round']}", ""] + _table(entries)
    if record["conclusions"]:
        lines += [f"## Conclusions (after round {record['conclusions']['after_round']})", ""]
        lines += _table(record["conclusions"])
    return "\n".join(lines)


def _table(entries):
    """The two sides' answers side by side: one row of a two-column table."""
    return ["| Codex | Claude |", "| --- | --- |",
            f"| {_cell(entries.get('codex'))} | {_cell(entries.get('claude'))} |", ""]


def _cell(entry):
    if entry is None:
        return ""
    text = entry["text"]
    if entry["exit_code"] != 0:
        text = f"**{entry['status']} (exit {entry['exit_code']}): {entry.get('error', '')}**\n\n{text}".rstrip()
    return escape_cell(text)


def escape_cell(text):
    return text.strip().replace("\\", "\\\\").replace("|", "\\|").replace("\r\n", "\n").replace("\n", "<br>")


def _first_line(text):
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= 80 else line[:79] + "\u2026"
