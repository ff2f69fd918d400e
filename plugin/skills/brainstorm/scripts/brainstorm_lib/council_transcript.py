"""Where a council is kept: its state (the JSON envelope) and, beside it, a Markdown transcript that
reads well in a terminal and on GitHub: a summary with the standings, the synthesis, then every
stage with every answer whole under its own heading."""
from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional

from agent_bridge.outcome import BadArguments
from .council_ranking import chair_reason, mean_rank_text
from .transcript import paths_for, with_fences_closed


def is_council(path: Optional[str]) -> bool:
    """Whether `path` (a transcript or state file) names a council's state; False when it names
    nothing readable (the deliberation's own loader then says why)."""
    if not path:
        return False
    try:
        with open(paths_for(path)[1], encoding="utf-8") as handle:
            record = json.load(handle)
    except (OSError, ValueError):
        return False
    return isinstance(record, dict) and isinstance(record.get("council"), dict)


def load(path: str) -> Dict[str, Any]:
    """The council saved in the state file of `path`, with the paths it is to be written to: those of
    `path`, never any it holds."""
    transcript, state = paths_for(path)
    try:
        with open(state, encoding="utf-8") as handle:
            record = json.load(handle)
    except (OSError, ValueError) as error:
        raise BadArguments(f"--continue {path}: cannot read the council's state {state}: {error}") from None
    council = record.get("council") if isinstance(record, dict) else None
    if not isinstance(council, dict) or not isinstance(council.get("seats"), list) or "topic" not in record:
        raise BadArguments(f"--continue {path}: {state} is not a council's state file")
    record["transcript"], record["state_file"] = transcript, state
    return record


def save(record: Dict[str, Any]) -> None:
    """Writes the state file, then the transcript (each replaced whole)."""
    _write(record["state_file"], json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    _write(record["transcript"], markdown(record))


def _write(path: str, text: str) -> None:
    partial = path + ".partial"
    with open(partial, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(partial, path)


def markdown(record: Dict[str, Any]) -> str:
    council = record["council"]
    lines = [f"# Council: {_first_line(record['topic'])}", ""]
    exit_code = "" if record["exit_code"] is None else f" (exit {record['exit_code']})"
    totals = record["totals"]
    lines += [f"- status: {record['status']}{exit_code}; {len(council['seats'])} seats, "
              f"{council['rounds_planned']} review round(s)",
              f"- tokens: {totals['input_tokens']} in, {totals['output_tokens']} out; cost: ${totals['cost_usd']:.4f} "
              f"(Claude's); turns: {totals['turns']}; time: {totals['elapsed_ms'] / 1000:.1f} s"]
    if record.get("error"):
        lines.append(f"- error: {record['error']}")
    lines += ["", *_seats_table(council), "", "## Topic", "", with_fences_closed(record["topic"].strip()), ""]
    if council["problems"]:
        lines += ["## Problems", "", *(f"- {problem}" for problem in council["problems"]), ""]
    if council["chair"]:
        lines += _chair_section(council["chair"], "Synthesis")
    for round_ in council["rounds"]:
        lines += _round_section(round_)
    for number, chair in enumerate(council["earlier_chairs"], 1):
        lines += _chair_section(chair, f"Earlier synthesis {number}")
    return "\n".join(lines)


def _seats_table(council: Dict[str, Any]) -> List[str]:
    """Each seat, its agent and ids, its mean rank in the last review round, and what it used."""
    means = {row["seat"]: row for row in council["aggregate"]}
    chair = council["chair"]["seat"] if council["chair"] else None
    lines = ["| seat | agent | mean rank | thread / session | tokens in / out | cost | turns |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for seat in council["seats"]:
        row, totals = means.get(seat["seat"]), seat["totals"]
        mean = "-" if not row or row["mean_rank"] is None else \
            f"{mean_rank_text(row['mean_rank'])} ({row['rankings']} ranking{'' if row['rankings'] == 1 else 's'})"
        ids = seat["thread_id"] or seat["session_id"]
        lines.append(f"| {seat['seat']}{' (chair)' if seat['seat'] == chair else ''} | `{seat['spec']}` | {mean} | "
                     f"{f'`{ids}`' if ids else '-'} | {totals['input_tokens']} / {totals['output_tokens']} | "
                     f"${totals['cost_usd']:.4f} | {totals['turns']} |")
    return lines


def _chair_section(chair: Dict[str, Any], heading: str) -> List[str]:
    lines = [f"## {heading} (seat {chair['seat']}, chair by {chair_reason(chair)}, after round {chair['after_round']})",
             ""]
    return lines + _answer_body(chair)


def _round_section(round_: Dict[str, Any]) -> List[str]:
    number = round_["round"]
    heading = "Stage 1: the answers" if number == 0 else f"Stage 2, review round {number}"
    lines = [f"## {heading}", ""]
    for entry in round_["answers"]:
        lines += [f"### Seat {entry['seat']}", ""]
        if "labels" in entry:
            lines += _ranking_lines(entry)
        lines += _answer_body(entry)
    return lines


def _ranking_lines(entry: Dict[str, Any]) -> List[str]:
    shown = ", ".join(f"{label} = seat {seat}" for label, seat in entry["labels"].items())
    lines = [f"Labels it saw: {shown or 'none'}", ""]
    if entry.get("ranking"):
        lines += [f"{item['rank']}. seat {item['seat']} ({item['label']}): {item['reason'] or '-'}"
                  for item in entry["ranking"]] + [""]
    elif entry.get("ranking_error"):
        lines += [f"*Ranking left out: {entry['ranking_error']}*", ""]
    return lines


def _answer_body(entry: Dict[str, Any]) -> List[str]:
    lines = []
    if entry["exit_code"] != 0:
        lines += [f"**{entry['status']} (exit {entry['exit_code']}): {entry.get('error', '')}**", ""]
    if entry["text"].strip():
        lines += [with_fences_closed(entry["text"].strip()), ""]
    return lines


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= 80 else line[:79] + "\u2026"
