"""Sends an email over SMTP. Blocking smtplib in a thread: one short conversation per email."""

import asyncio
import smtplib
from dataclasses import dataclass


@dataclass(frozen=True)
class MailOptions:
    host: str = "localhost"
    port: int = 8025
    sender: str = "Podium <orders@podium.example>"
    timeout: float = 10.0


async def send(options: MailOptions, recipient: str, raw: bytes) -> None:
    await asyncio.to_thread(_send, options, recipient, raw)


def _send(options: MailOptions, recipient: str, raw: bytes) -> None:
    # An international local part (jörg@...) travels as UTF-8 only with SMTPUTF8; a server
    # without it raises SMTPNotSupportedError, a permanent failure with a clear reason.
    mail_options = ["SMTPUTF8"] if not recipient.isascii() else []
    with smtplib.SMTP(options.host, options.port, timeout=options.timeout) as smtp:
        smtp.sendmail(options.sender, [recipient], raw, mail_options=mail_options)
