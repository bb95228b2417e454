"""Passwords out of URLs before they are logged or printed."""

import re

REDACTED = "******"  # what aio-pika prints for a password too
# scheme://user:password@ anywhere in a text; the password ends at the last "@" before the host.
# Every repetition is bounded, so a match attempt costs at most a few hundred steps and the
# whole scan stays linear however the text is made (e.g. "a.a.a.a..." without "://").
_USERINFO = re.compile(
    r"(?P<head>\b[a-z][a-z0-9+.-]{0,31}://[^:/@\s]{0,256}:)[^\s/]{0,512}(?P<tail>@)", re.I
)


def redact_urls(text: str) -> str:
    """Every `scheme://user:password@` inside free text, with the password masked."""
    return _USERINFO.sub(rf"\g<head>{REDACTED}\g<tail>", text)
