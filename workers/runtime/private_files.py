"""Folders and files that hold customer data or secrets: this user's only.

Every `podium` process sets umask 077 at its entry, so what it creates is private from the
first byte; these helpers also tighten folders and files left behind by older versions or
created by a process with a looser umask (a test runner, a library).
"""

import os
import stat
from contextlib import suppress
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: Path) -> Path:
    """Create `path` as 0700 (and the parents it lacks, which are Podium's too: `.podium/`),
    and make it 0700 if it already exists and others can read or write it."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=PRIVATE_DIR, exist_ok=True)
        folder.chmod(PRIVATE_DIR)  # mkdir's mode is masked by the umask
    # Traverse-only for others (0711, the stack home when the broker runs as `rabbitmq`) lets
    # nobody list or read anything: only a folder others can read or write is tightened.
    if stat.S_IMODE(path.stat().st_mode) & 0o066:
        path.chmod(PRIVATE_DIR)
    return path


def tighten_files(folder: Path) -> None:
    """Make the regular files directly in `folder` 0600 (databases and their -wal/-shm files)."""
    with os.scandir(folder) as entries:
        for entry in entries:
            # SQLite removes its -wal and -shm files as it pleases: one may vanish meanwhile.
            with suppress(FileNotFoundError):
                if entry.is_file(follow_symlinks=False) and entry.stat().st_mode & 0o077:
                    os.chmod(entry.path, PRIVATE_FILE)
