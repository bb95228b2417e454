"""A debugging SMTP server: every message received is stored as `<Message-ID>.eml` in a folder.

Files are named by Message-ID, so the same email delivered twice (an at-least-once resend)
overwrites its file instead of adding a second one. `python -m infra.mailserver --port P --dir D`
"""

import argparse
import hashlib
import os
import re
import signal
import threading
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from workers.runtime.private_files import private_dir

_UNSAFE = re.compile(r"[^A-Za-z0-9@._-]+")
_MAX_ID = 200  # longer Message-IDs are cut: a file name has its limits


def file_name(content: bytes) -> str:
    # Line by line, no backtracking regex: whoever connects chooses these bytes.
    headers = content.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    for line in headers.split(b"\n"):
        name, colon, value = line.partition(b":")
        if colon and name.strip().lower() == b"message-id" and value.strip():
            found = value.strip().decode(errors="replace").strip("<>")[:_MAX_ID]
            return _UNSAFE.sub("_", found) + ".eml"
    return f"no-id-{hashlib.sha256(content).hexdigest()[:16]}.eml"


class StoreToFolder:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        private_dir(folder)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        target = self.folder / file_name(content)
        temp = target.with_suffix(f".{os.getpid()}.tmp")
        temp.write_bytes(content)
        temp.replace(target)  # atomic: readers never see half an email
        return "250 Message accepted for delivery"


def start(folder: Path, port: int, host: str = "127.0.0.1") -> Controller:
    """Serve in a background thread; call `.stop()` on the result to shut it down."""
    # SMTPUTF8: international addresses (jörg@example.de) are delivered as real servers do.
    controller = Controller(StoreToFolder(folder), hostname=host, port=port, enable_SMTPUTF8=True)
    controller.start()
    return controller


def stored_emails(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.eml"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.mailserver", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--dir", type=Path, default=Path(".podium/mail"))
    args = parser.parse_args(argv)
    controller = start(args.dir, args.port, args.host)
    print(f"mail server on {args.host}:{args.port}, storing into {args.dir}", flush=True)
    stop = threading.Event()

    def _stop(*_: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
