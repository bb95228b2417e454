"""The debugging SMTP server (`infra.mailserver`): every email it receives becomes a file."""

from __future__ import annotations

import logging
import os
import smtplib
import sys

from infra.stack.config import StackConfig
from infra.stack.errors import StackError
from infra.stack.ports import port_open
from infra.stack.processes import launch, live_pid, stop_recorded

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
        cmd = [sys.executable, "-m", "infra.mailserver", "--host", "127.0.0.1"]
        cmd += ["--port", str(port), "--dir", str(self.dir)]
        return launch(
            cmd,
            what=f"mail server on port {port}",
            ready=lambda: _answers(port),
            timeout=START_TIMEOUT,
            log_file=self.log_file,
            pid_file=self.pid_file,
            env=dict(os.environ),
            cwd=self.config.home,
        )

    def stop(self) -> None:
        stop_recorded(self.pid(), self.pid_file)

    def pid(self) -> int | None:
        # Not the full module path: a server started as `workers.mailserver` (before the module
        # moved to infra/) is still recognised, so `podium dev down` stops it.
        return live_pid(self.pid_file, [b"mailserver", str(self.dir).encode()])


def _answers(port: int) -> bool:
    # An open port is not enough: the SMTP greeting proves aiosmtpd is serving.
    with smtplib.SMTP("127.0.0.1", port, timeout=2) as smtp:
        return smtp.noop()[0] == 250
