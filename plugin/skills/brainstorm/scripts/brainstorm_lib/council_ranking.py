"""The council's rankings: labels shuffled per seat, a seat's ranking read from its reply, the
mean rank per seat, and the chair chosen from it. Pure logic, no peer.

A seat ranks the others' answers labelled A, B, C... in an order of its own; `labels` maps each
label to the seat it hides. Its reply starts with a fenced JSON block:

    ```json
    {"ranking": [{"label": "B", "reason": "..."}, {"label": "A", "reason": "..."}]}
    ```

best first, every label once; the rest of the reply is its revised answer.
"""
from __future__ import annotations

import json
import random
import re
import string
from typing import Dict, List, Sequence, Tuple

FENCED_BLOCK = re.compile(r"^ {0,3}(`{3,}|~{3,})[ \t]*(\w*)[^\n]*\n(.*?)^ {0,3}\1[ \t]*$", re.M | re.S)


class RankingUnreadable(ValueError):
    """The reply holds no ranking that names every label once; the message says what is wrong."""


def shuffled_labels(others: Sequence[int], rng: random.Random) -> Dict[str, int]:
    """{label: seat}: the seats in `others` behind A, B, C... in an order drawn from `rng`."""
    order = list(others)
    rng.shuffle(order)
    return dict(zip(string.ascii_uppercase, order))


def read_ranking(reply: str, labels: Dict[str, int]) -> Tuple[List[dict], str]:
    """(ranking, revised answer) from a seat's reply. The ranking is [{label, seat, rank, reason}],
    best first; the revised answer is the reply without the JSON block. RankingUnreadable if the
    first block holding a "ranking" does not name every label in `labels` exactly once."""
    for block in FENCED_BLOCK.finditer(reply):
        try:
            data = json.loads(block.group(3))
        except ValueError:
            continue
        if isinstance(data, dict) and "ranking" in data:
            ranking = _ranking_of(data["ranking"], labels)
            answer = "\n\n".join(part.strip() for part in (reply[:block.start()], reply[block.end():]) if part.strip())
            return ranking, answer
    raise RankingUnreadable("no fenced JSON block with a \"ranking\" list")


def _ranking_of(items: object, labels: Dict[str, int]) -> List[dict]:
    if not isinstance(items, list):
        raise RankingUnreadable("\"ranking\" is not a list")
    ranking: List[dict] = []
    for rank, item in enumerate(items, 1):
        label, reason = _label_and_reason(item)
        if label not in labels:
            raise RankingUnreadable(f"unknown label {label!r} (expected {', '.join(labels)})")
        if any(entry["label"] == label for entry in ranking):
            raise RankingUnreadable(f"label {label} ranked twice")
        ranking.append({"label": label, "seat": labels[label], "rank": rank, "reason": reason})
    missing = [label for label in labels if label not in {entry["label"] for entry in ranking}]
    if missing:
        raise RankingUnreadable(f"label(s) {', '.join(missing)} not ranked")
    return ranking


def _label_and_reason(item: object) -> Tuple[str, str]:
    """An item of the ranking: {"label": "A", "reason": "..."} or just "A"."""
    if isinstance(item, str):
        return item.strip().upper(), ""
    if isinstance(item, dict) and isinstance(item.get("label"), str):
        reason = item.get("reason")
        return item["label"].strip().upper(), reason.strip() if isinstance(reason, str) else ""
    raise RankingUnreadable(f"a ranking item is not a label: {json.dumps(item)[:60]}")


def aggregate(rankings: Sequence[Sequence[dict]], seats: Sequence[int]) -> List[dict]:
    """[{seat, mean_rank, rankings}] from the rankings given (each [{seat, rank}]): the mean of the
    ranks each seat got, and how many rankings ranked it; best first, ties to the lower seat, a seat
    nobody ranked last (mean_rank None)."""
    ranks: Dict[int, List[int]] = {seat: [] for seat in seats}
    for ranking in rankings:
        for entry in ranking:
            ranks.setdefault(entry["seat"], []).append(entry["rank"])
    rows = [{"seat": seat, "mean_rank": round(sum(got) / len(got), 3) if got else None, "rankings": len(got)}
            for seat, got in ranks.items()]
    return sorted(rows, key=_standing)


def _standing(row: dict) -> Tuple[bool, float, int]:
    return row["mean_rank"] is None, row["mean_rank"] or 0.0, row["seat"]


BEST_MEAN_RANK = "best mean rank"
NO_RANKING = "lowest seat number: no ranking could be read"


def best_seat(aggregate_rows: Sequence[dict], candidates: Sequence[int]) -> Tuple[int, str, List[int]]:
    """(seat, why it chairs, the seats tied with it) among `candidates` (one at least): the best mean rank,
    ties to the lower number; the lowest number when none of them was ranked."""
    ranked = {row["seat"]: row for row in aggregate_rows}
    rows = sorted((ranked.get(seat, {"seat": seat, "mean_rank": None}) for seat in candidates), key=_standing)
    best = rows[0]
    if best["mean_rank"] is None:
        return best["seat"], NO_RANKING, []
    return best["seat"], BEST_MEAN_RANK, [row["seat"] for row in rows[1:] if row["mean_rank"] == best["mean_rank"]]


def mean_rank_text(mean_rank: float) -> str:
    """A mean rank as every output writes it: two decimals, so 2 reads 2.00 beside 1.67."""
    return f"{mean_rank:.2f}"


def chair_reason(chair: dict) -> str:
    """Why the chair chairs, in words: its `chosen_by`, and the seats it was tied with."""
    tied = chair.get("tied_with") or []
    if not tied:
        return chair["chosen_by"]
    seats = ", ".join(map(str, tied))
    return f"{chair['chosen_by']}, tied with seat{'s' if len(tied) > 1 else ''} {seats}: the lower number chairs"
