"""Reading fields of peer messages whose shape cannot be trusted: a wrong type reads as empty."""


def as_dict(value):
    return value if isinstance(value, dict) else {}


def as_list(value):
    return value if isinstance(value, list) else []


def as_text(value):
    return value if isinstance(value, str) else ""


def as_int(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def as_number(value):
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def optional_text(value):
    return value if isinstance(value, str) else None


def optional_int(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else None
