"""What the council writes into each seat's prompt. Nothing here names an agent or a model: a seat
sees the others' answers behind labels (A, B, C... in review rounds) or member numbers (the chair)."""
from __future__ import annotations

from typing import Dict, List, Sequence

from .council_ranking import mean_rank_text

ANSWER = """You are a member of a council of {size} AI coding agents. Each member answers the topic below on its
own; in the next step the members review each other's answers without knowing who wrote which.

Topic:
{topic}

Give your own answer: your position, the reasons for it, and the risks you see. Look at the project
in front of you where it helps. Be concrete and brief (at most about 300 words)."""

REVIEW = """Review round {round} of the council on:
{topic}

The other members' latest answers, labelled in a random order:

{answers}

Rank these answers, best first, with a one-line reason for each. Start your reply with this block,
every label exactly once:

```json
{{"ranking": [{example}]}}
```

Then, after the block, give your revised answer to the topic: keep what holds, take what convinced
you from the others, drop what did not. At most about 300 words."""

CHAIR = """You chair the council of {size} AI coding agents on:
{topic}

The members' latest answers (you are member {chair}), with the mean rank each got from the others
(1 is best) and the reasons they gave:

{answers}

Write the council's final answer: what it recommends and why, where the members disagree and which
side you take, and the risks that remain. Draw on every answer, not only the best ranked."""


def answer_prompt(topic: str, size: int) -> str:
    return ANSWER.format(size=size, topic=topic.strip())


def review_prompt(topic: str, round_number: int, labels: Dict[str, int], answers: Dict[int, str]) -> str:
    """Round `round_number`'s prompt to one seat: `answers` ({seat: text}) behind `labels` ({label: seat})."""
    shown = "\n\n".join(f"### Answer {label}\n\n{answers[seat].strip()}" for label, seat in labels.items())
    example = ", ".join(f'{{"label": "{label}", "reason": "..."}}' for label in labels)
    return REVIEW.format(round=round_number, topic=topic.strip(), answers=shown, example=example)


def chair_prompt(topic: str, size: int, chair: int, answers: Dict[int, str], aggregate: Sequence[dict],
                 reasons: Dict[int, List[str]]) -> str:
    """The chair's prompt: every member's latest answer ({seat: text}), by member number, with its mean rank
    and the reasons the others gave ({seat: [reason]})."""
    means = {row["seat"]: row["mean_rank"] for row in aggregate}
    sections = []
    for seat in sorted(answers):
        mean = "not ranked" if means.get(seat) is None else f"mean rank {mean_rank_text(means[seat])}"
        heading = f"### Member {seat}{' (you)' if seat == chair else ''}: {mean}"
        said = "".join(f"\n- {reason}" for reason in reasons.get(seat, []) if reason)
        sections.append(f"{heading}\n\n{answers[seat].strip()}" + (f"\n\nThe others said:{said}" if said else ""))
    return CHAIR.format(size=size, topic=topic.strip(), chair=chair, answers="\n\n".join(sections))
