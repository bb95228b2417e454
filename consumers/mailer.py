"""Sends emails over one SMTP session, kept open across emails.

A session costs a connection and the EHLO exchange: several round trips, more than sending a
short email. One session serves every email of a consumer, one at a time, on a thread of its
own (blocking smtplib never runs on the event loop, and a slow server never ties up the loop's
shared threads). A broken session (the server closed it, a timeout) is dropped and the email
goes out once more on a new one; the session is closed after `idle_seconds` without an email
(before the server's own idle timeout, which RFC 5321 puts at 5 minutes at the least) and by
`close`. A refused recipient leaves the session usable: smtplib resets the transaction.
"""

import asyncio
import contextlib
import smtplib
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass


@dataclass(frozen=True)
class MailOptions:
    host: str = "localhost"
    port: int = 8025
    sender: str = "Podium <orders@podium.example>"
    timeout: float = 10.0
    idle_seconds: float = 30.0


class Session:
    """Opened on the first email: constructing one is safe on an event loop."""

    def __init__(self, options: MailOptions) -> None:
        self.options = options
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="smtp")
        self._smtp: smtplib.SMTP | None = None
        self._idle: threading.Timer | None = None
        self._closed = False

    async def send(self, recipient: str, raw: bytes) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._send, recipient, raw)

    def close(self) -> None:
        """Quit the session once the emails already handed in are sent; later ones fail."""
        if not self._closed:
            self._closed = True
            self._thread.submit(self._quit)
            self._thread.shutdown(wait=False)

    def _send(self, recipient: str, raw: bytes) -> None:
        if self._idle is not None:
            self._idle.cancel()
        try:
            kept = self._smtp is not None
            try:
                self._sendmail(self._session(), recipient, raw)
            except Exception as err:
                if not (kept and _stale(err)):
                    raise
                # A kept session may have died since its last email (closed by the server,
                # reset): once more on a new one; a second failure is the server's.
                self._drop()
                self._sendmail(self._session(), recipient, raw)
        except Exception as err:
            if _broken(err):
                self._drop()
            raise
        finally:
            if self._smtp is not None and not self._closed:
                self._idle = threading.Timer(self.options.idle_seconds, self._idle_close)
                self._idle.daemon = True
                self._idle.start()

    def _sendmail(self, smtp: smtplib.SMTP, recipient: str, raw: bytes) -> None:
        # An international local part (jörg@...) travels as UTF-8 only with SMTPUTF8; a server
        # without it raises SMTPNotSupportedError, a permanent failure with a clear reason.
        mail_options = ["SMTPUTF8"] if not recipient.isascii() else []
        smtp.sendmail(self.options.sender, [recipient], raw, mail_options=mail_options)

    def _session(self) -> smtplib.SMTP:
        if self._smtp is None:
            self._smtp = smtplib.SMTP(
                self.options.host, self.options.port, timeout=self.options.timeout
            )
        return self._smtp

    def _idle_close(self) -> None:
        # From the timer's thread: handed to the session's thread, never beside a send.
        if not self._closed:
            with contextlib.suppress(RuntimeError):  # shut down meanwhile: `close` quits it
                self._thread.submit(self._quit)

    def _quit(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()


def _stale(err: Exception) -> bool:
    """The kept session was gone before this email: safe to try once more on a new one."""
    return isinstance(err, smtplib.SMTPServerDisconnected | ConnectionError)


def _broken(err: Exception) -> bool:
    """The session is unusable (every SMTPException is an OSError: those leave it usable)."""
    return isinstance(err, smtplib.SMTPServerDisconnected) or (
        isinstance(err, OSError) and not isinstance(err, smtplib.SMTPException)
    )
