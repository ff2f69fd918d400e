"""Reading peer messages whose shape cannot be trusted: a wrong type reads as empty."""
from __future__ import annotations

import itertools
import json
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple, Union

from .outcome import ParseError

if TYPE_CHECKING:
    from .trace import Tracer


# json's C scanner, called straight: json.loads adds three Python calls and two regular-expression
# matches around it, a fair share of the cost of a small message when thousands stream in.
_scan_value = json.JSONDecoder().scan_once   # type: ignore[attr-defined]  # set by its __init__


def parse_json_object(text: str, tracer: Tracer, source: str) -> Dict[str, Any]:
    """The JSON object `text` holds, traced as received. Anything else is a ParseError whose
    message begins with `source` ("the server sent", "claude printed")."""
    try:
        try:
            message, end = _scan_value(text, 0)
        except StopIteration:   # no value right at the start: json.loads says why, or skips the spaces
            end = None
        if end != len(text):    # not one value alone: json.loads reads spaces around it, or says why not
            message = json.loads(text)
    except (ValueError, RecursionError) as error:
        tracer.received(text, is_json=False)
        problem = "JSON nested too deeply to read" if isinstance(error, RecursionError) else "text that is not JSON"
        raise ParseError(f"{source} {problem}: {text[:80]!r}") from None
    tracer.received(text)
    if not isinstance(message, dict):
        raise ParseError(f"{source} JSON that is not an object: {text[:80]!r}")
    return message


def as_dict(value: Any) -> Dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> List[Any]:
    return value if isinstance(value, list) else []


def as_text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def as_int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def as_number(value: Any) -> Union[int, float]:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def optional_text(value: Any) -> Optional[str]:
    return value if isinstance(value, str) else None


def optional_int(value: Any) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def is_older(version: str, oldest: str) -> bool:
    """True when a peer's `version` (e.g. '0.168.2'; '' when unknown) comes before `oldest`."""
    return _version_numbers(version) < _version_numbers(oldest)


def _version_numbers(version: str) -> Tuple[int, ...]:
    numbers: List[int] = []
    for part in version.split(".")[:3]:
        digits = "".join(itertools.takewhile(str.isdigit, part))
        if not digits:
            break
        numbers.append(int(digits))
    return tuple(numbers)
