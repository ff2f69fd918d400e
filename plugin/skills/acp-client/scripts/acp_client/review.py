"""A review through an ACP agent: the diff read with git as claude-cli-client reads it, sent in the
prompt with the review guide, and the answer read back as findings (JSON in the review-output
schema, else the text as it is)."""
from __future__ import annotations

import json
from typing import Any, Dict, Optional, Tuple

from agent_bridge import review as shared
from agent_bridge.review import REVIEW_OUTPUT_SCHEMA, Review, ReviewRequest, plain_review, review_from_output
from agent_bridge.review_git import Changes


def review_prompt(request: ReviewRequest, cwd: str) -> Tuple[str, Optional[str]]:
    """(the prompt, what was left out of the diff or None). BadArguments when there is nothing to review."""
    changes = Changes(cwd, request)
    diff, note = changes.diff()
    schema = "Answer with one JSON object and nothing else, following this JSON Schema:\n" + json.dumps(
        REVIEW_OUTPUT_SCHEMA)
    return shared.review_prompt(request, changes.root, diff, note) + "\n\n" + schema, note


def review_of_answer(request: ReviewRequest, text: str, note: Optional[str]) -> Review:
    """The envelope's `review` from the agent's answer: its JSON object (a ```json fence allowed), else its text."""
    output = _json_object(text)
    review = review_from_output(request, output) if output is not None else plain_review(request, text)
    if note:
        review["note"] = note
    return review


def _json_object(text: str) -> Optional[Dict[str, Any]]:
    body = text.strip()
    if body.startswith("```"):
        body = body.split("\n", 1)[-1].rsplit("```", 1)[0]
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
