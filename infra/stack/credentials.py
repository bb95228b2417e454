"""A server's generated credentials: `user=…` and `password=…` lines in a 0600 file of the
stack's home, written once and read back by every later `up` and `status`."""

from __future__ import annotations

import secrets
from pathlib import Path

from infra.stack.processes import write_private
from workers.runtime.private_files import private_dir


def stored_password(file: Path) -> str | None:
    if not file.exists():
        return None
    for line in file.read_text().splitlines():
        key, _, value = line.partition("=")
        if key == "password":
            return value
    return None


def new_password(file: Path, user: str) -> str:
    """A fresh password for `user`, written to `file` (its folder made private first)."""
    password = secrets.token_urlsafe(24)
    private_dir(file.parent)
    write_private(file, f"user={user}\npassword={password}\n")
    return password
