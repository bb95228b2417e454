"""The debugging SMTP server (`workers.mailserver`): every email it receives becomes a file."""

from __future__ import annotations

import logging
import os
import smtplib
import sys
import time

from workers.stack.config import StackConfig
from workers.stack.errors import StackError
from workers.stack.ports import port_open
from workers.stack.processes import live_pid, spawn, terminate_group, wait_until

log = logging.getLogger(__name__)

START_TIMEOUT = 30.0


class MailServer:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.dir = config.home / "mail"
        self.pid_file = config.home / "mailserver.pid"
        self.log_file = config.logs / "mailserver.log"

    def start(self) -> int:
        """Start the server unless it runs; returns its pid once it answers SMTP."""
        if (pid := self.pid()) is not None:
            return pid
        port = self.config.smtp_port
        if port_open(port):
            # Most likely a mail server started by hand; say so rather than "exited with code 1".
            raise StackError(f"port {port} is taken by another process; stop it or pick another")
        cmd = [sys.executable, "-m", "workers.mailserver", "--host", "127.0.0.1"]
        cmd += ["--port", str(port), "--dir", str(self.dir)]
        started = time.monotonic()
        proc = spawn(cmd, self.log_file, env=dict(os.environ), cwd=self.config.home)
        self.pid_file.write_text(f"{proc.pid}\n")
        wait_until(
            lambda: _answers(port),
            proc,
            START_TIMEOUT,
            f"mail server on port {port}",
            self.log_file,
        )
        log.info("mail server started in %.1fs (pid %d)", time.monotonic() - started, proc.pid)
        return proc.pid

    def stop(self) -> None:
        pid = self.pid()
        if pid is not None:
            terminate_group(pid)
        self.pid_file.unlink(missing_ok=True)

    def pid(self) -> int | None:
        return live_pid(self.pid_file, [b"workers.mailserver", str(self.dir).encode()])


def _answers(port: int) -> bool:
    # An open port is not enough: the SMTP greeting proves aiosmtpd is serving.
    with smtplib.SMTP("127.0.0.1", port, timeout=2) as smtp:
        return smtp.noop()[0] == 250
