"""Email addresses as RFC 5321/5322 and RFC 6531 (SMTPUTF8) allow them, checked in linear time.

Accepted: dot-atom local parts with international characters (`jörg@example.de`), quoted local
parts (`"john doe"@example.com`), international domains (`info@bücher.de`). Refused: anything
a mail system would refuse, and anything longer than 254 characters (checked first, so the
checks below only ever see short text). No regular expression: one pass per part.
"""

MAX_ADDRESS = 254
MAX_LOCAL_OCTETS = 64
_ATEXT_SYMBOLS = frozenset("!#$%&'*+-/=?^_`{|}~")


def check_email(value: str) -> str:
    """`value` if it is a deliverable address, else ValueError saying what is wrong with it."""
    if len(value) > MAX_ADDRESS:
        raise ValueError(f"an email address has at most {MAX_ADDRESS} characters")
    local, at, domain = value.rpartition("@")
    if not at or not local:
        raise ValueError("an email address needs a local part, an @ and a domain")
    if len(local.encode()) > MAX_LOCAL_OCTETS:
        raise ValueError(f"the part before @ has at most {MAX_LOCAL_OCTETS} bytes")
    if not (_is_quoted(local) or _is_dot_atom(local)):
        raise ValueError("the part before @ is not valid (quote it if it has spaces)")
    ascii_domain(domain)
    return value


def local_text(local: str) -> str:
    """The local part as text: a quoted one without its quotes and escapes."""
    if not _is_quoted(local):
        return local
    chars, escaped = [], False
    for char in local[1:-1]:
        if char == "\\" and not escaped:
            escaped = True
            continue
        chars.append(char)
        escaped = False
    return "".join(chars)


def ascii_domain(domain: str) -> str:
    """The domain as DNS knows it (`bücher.de` -> `xn--bcher-kva.de`), or ValueError."""
    try:
        ace = domain.encode("idna").decode("ascii") if not domain.isascii() else domain
    except UnicodeError:
        raise ValueError("the domain is not a valid international domain name") from None
    labels = ace.split(".")
    if len(labels) < 2 or not all(_is_label(label) for label in labels):
        raise ValueError("the domain needs at least two labels of letters, digits and hyphens")
    if labels[-1].isdigit() or len(labels[-1]) < 2:
        raise ValueError("the domain's last label is a number or a single character")
    return ace.lower()


def _is_dot_atom(local: str) -> bool:
    return all(atom and all(_is_atext(c) for c in atom) for atom in local.split("."))


def _is_atext(char: str) -> bool:
    if char.isascii():
        return char.isalnum() or char in _ATEXT_SYMBOLS
    return char.isprintable() and not char.isspace()  # RFC 6531 UTF8-non-ascii


def _is_quoted(local: str) -> bool:
    if len(local) < 2 or local[0] != '"' or local[-1] != '"':
        return False
    escaped = False
    for char in local[1:-1]:
        if not char.isprintable():
            return False  # no control characters, no line breaks
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            return False
    return not escaped


def _is_label(label: str) -> bool:
    return (
        0 < len(label) <= 63
        and label[0] != "-"
        and label[-1] != "-"
        and all(c.isascii() and (c.isalnum() or c == "-") for c in label)
    )
