"""Personal data out of free text, and every text bounded, both in linear time: what text may
cross from a message or an error into logs and span attributes.

Log fields can hold text taken from a message body or an exception about one, so they are
truncated first and then scanned without a backtracking regex: a multi-megabyte string with no
`@`, or one long run of the same character, costs one pass.
"""

import re

from contracts.order import PAYMENT_TOKEN_CHARS

REDACTED = "[redacted]"
MAX_FIELD = 2_000
TRUNCATED = "...[truncated {} chars]"

# Characters of an email's local part and of its domain, as loosely as a redaction should be.
_NOT_LOCAL = frozenset("@'\"<>(),;:[]")
_MAX_ADDRESS = 320  # longer than any address a mail system accepts (254)
_MAX_QUOTED_LOCAL = 66  # a quoted local part: at most 64 characters plus its two quotes
# A fixed literal then one greedy class: the engine never backtracks into a match.
_TOKEN = re.compile(rf"\btok_[{PAYMENT_TOKEN_CHARS}]+")


def bound(text: str, limit: int = MAX_FIELD) -> str:
    """`text`, cut at `limit` characters with a marker saying how much was dropped."""
    if len(text) <= limit:
        return text
    return text[:limit] + TRUNCATED.format(len(text) - limit)


def clean(text: str, limit: int = MAX_FIELD) -> str:
    """`text` scrubbed and bounded. An address cut by the bound is still recognised: the text
    is scrubbed a little past the limit, then cut."""
    if len(text) <= limit:
        return scrub(text)
    return scrub(text[: limit + _MAX_ADDRESS])[:limit] + TRUNCATED.format(len(text) - limit)


def scrub(text: str) -> str:
    """Email addresses (quoted local parts and international ones too) and payment tokens in
    `text` replaced by a marker."""
    if "@" in text:
        text = _scrub_emails(text)
    if "tok_" in text:
        text = _TOKEN.sub(REDACTED, text)
    return text


def _scrub_emails(text: str) -> str:
    # Every character is looked at a bounded number of times: a local part is scanned back
    # only as far as the previous `@` (or 66 characters when quoted), a domain forward only
    # to the next character that cannot be in one.
    out: list[str] = []
    done = 0  # text[:done] is already in `out`
    at = text.find("@")
    while at != -1:
        start = _local_start(text, at, done)
        end = _domain_end(text, at + 1)
        if start < at and _looks_like_domain(text, at + 1, end):
            out.append(text[done:start])
            out.append(REDACTED)
            done = end
        at = text.find("@", max(at + 1, end))
    out.append(text[done:])
    return "".join(out)


def _local_start(text: str, at: int, floor: int) -> int:
    if at > floor and text[at - 1] == '"':
        opening = text.rfind('"', max(floor, at - _MAX_QUOTED_LOCAL), at - 1)
        if opening != -1:
            return opening
    start = at
    while start > floor and not text[start - 1].isspace() and text[start - 1] not in _NOT_LOCAL:
        start -= 1
    return start


def _domain_end(text: str, begin: int) -> int:
    end = begin
    while end < len(text) and (text[end].isalnum() or text[end] in "-."):
        end += 1
    return end


def _looks_like_domain(text: str, begin: int, end: int) -> bool:
    """At least two labels, the last starting with two letters (as `.com`, `.de`, `.рф`)."""
    dot = text.rfind(".", begin, end)
    while dot > begin:
        if end - dot > 2 and text[dot + 1].isalpha() and text[dot + 2].isalpha():
            return True
        dot = text.rfind(".", begin, dot)
    return False
