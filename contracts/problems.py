"""What is wrong with a rejected input, on one bounded line a person can read."""

from pydantic import ValidationError

MAX_PROBLEMS = 5
MAX_PART_CHARS = 60
MAX_LINE_CHARS = 600


def describe(err: ValidationError, subject: str = "input") -> str:
    """`invalid <subject>: where: what; ...`: the first few problems, each with where it is.

    Locations and messages can quote the input (an unknown field's name): every part is
    truncated and made printable, and the whole line is bounded too.
    """
    problems: list[str] = []
    for error in err.errors(include_url=False, include_input=False, include_context=False):
        if len(problems) == MAX_PROBLEMS:
            break
        where = ".".join(_printable(part) for part in error["loc"]) or subject
        problems.append(f"{where}: {_printable(error['msg'], MAX_LINE_CHARS // 3)}")
    count = err.error_count()
    more = f"; and {count - MAX_PROBLEMS} more" if count > MAX_PROBLEMS else ""
    return _clip(f"invalid {subject}: " + "; ".join(problems) + more, MAX_LINE_CHARS)


def one_line(text: object, limit: int = MAX_LINE_CHARS) -> str:
    """Any text (an exception, an untrusted name) as one printable line of at most `limit`:
    its first line, marked with … when more followed."""
    lines = str(text).strip().splitlines() or [""]
    first = lines[0] + (" …" if len(lines) > 1 else "")
    return _printable(first, limit)


def _printable(part: object, limit: int = MAX_PART_CHARS) -> str:
    text = _clip(str(part), limit)
    return text if text.isprintable() else _clip(repr(text), limit)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
