"""`podium codec-server`: the Temporal codec server protocol over the encryption codec.

The Temporal UI (or `temporal workflow show --codec-endpoint`) POSTs `{"payloads": [...]}` in
protobuf JSON to `/decode` or `/encode` and shows what comes back, so an operator who runs this
server with the keys sees decrypted payloads while the Temporal server only ever stores
ciphertext. The browser calls it directly: it answers CORS preflights for the UI's origins only.

Safe by default, token or not: a request must name this server in `Host` (a page whose DNS name
was rebound to 127.0.0.1 names its own) and, when a browser sends `Origin`, come from an allowed
origin; bodies need a valid `Content-Length` of at most MAX_BODY_BYTES.
"""

import asyncio
import hmac
import ipaddress
import json
import threading
from collections.abc import Iterable, Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

import structlog
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import PayloadCodec

from workers.runtime.codec import EncryptionCodec, EncryptionError, keyring_from_settings
from workers.runtime.settings import Settings

log = structlog.get_logger(__name__)
MAX_BODY_BYTES = 8 * 1024 * 1024
CODEC_TIMEOUT_SECONDS = 30.0
MAX_CONNECTIONS = 32  # served at once; more are closed at once rather than queued in threads
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_ALLOWED_HEADERS = "Content-Type, Authorization, X-Namespace"


class CodecServer:
    """An HTTP server in a background thread; `port=0` picks a free port (see `.port`)."""

    def __init__(
        self,
        codec: PayloadCodec,
        host: str = "127.0.0.1",
        port: int = 8089,
        origins: Iterable[str] = (),
        token: str | None = None,
        hosts: Iterable[str] = (),
    ) -> None:
        self.codec = codec
        self.origins = frozenset(o.rstrip("/") for o in origins)
        self.token = token
        self._http = _BoundedHTTPServer((host, port), _handler_for(self))
        self._thread = threading.Thread(target=self._http.serve_forever, name="codec-server")
        # The names a request may give in `Host`: loopback, the address served, the UI origins'
        # hosts and any configured (PODIUM_CODEC_SERVER_HOSTS), never whatever a page says.
        self.hosts = frozenset(
            name.lower()
            for name in (*LOOPBACK_NAMES, host, *hosts, *(_hostname(o) for o in self.origins))
            if name
        )
        # One event loop for the codec, in its own thread: requests hand their work to it.
        self._loop = asyncio.new_event_loop()
        self._loop_thread = threading.Thread(target=self._loop.run_forever, name="codec-loop")

    @property
    def host(self) -> str:
        return str(self._http.server_address[0])

    @property
    def port(self) -> int:
        return int(self._http.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        self._loop_thread.start()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._loop_thread.join()
        self._loop.close()

    def convert(self, action: str, payloads: Sequence[Payload]) -> list[Payload]:
        """Encode or decode on the server's event loop (called from request threads)."""
        convert = self.codec.encode if action == "encode" else self.codec.decode
        future = asyncio.run_coroutine_threadsafe(convert(payloads), self._loop)
        return future.result(timeout=CODEC_TIMEOUT_SECONDS)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class _BoundedHTTPServer(ThreadingHTTPServer):
    """A thread per connection, as ThreadingHTTPServer, but at most MAX_CONNECTIONS of them."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


def codec_server(
    settings: Settings, port: int | None = None, host: str | None = None
) -> CodecServer:
    """A codec server for the configured keys (not started); refuses when encryption is off."""
    keyring = keyring_from_settings(settings)
    if keyring is None:
        raise EncryptionError("encryption is off: set PODIUM_ENCRYPTION_KEYS to run a codec server")
    token = settings.codec_server_token
    return CodecServer(
        EncryptionCodec(keyring),
        host=host or settings.codec_server_host,
        port=settings.codec_server_port if port is None else port,
        origins=settings.codec_server_origins,
        token=None if token is None else token.get_secret_value(),
        hosts=settings.codec_server_hosts,
    )


def serve(settings: Settings, port: int | None = None, host: str | None = None) -> None:
    """Run the codec server until Ctrl-C."""
    server = codec_server(settings, port, host)
    if not _is_loopback(server.host) and server.token is None:
        log.warning("codec server reachable from other hosts without PODIUM_CODEC_SERVER_TOKEN")
    with server:
        log.info("codec server listening", url=server.url, origins=sorted(server.origins))
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            log.info("codec server stopping")


def _hostname(url_or_host: str) -> str | None:
    """The host name in an origin (`http://h:1`) or a Host header (`h:1`, `[::1]:1`)."""
    try:
        return urlsplit(url_or_host if "//" in url_or_host else f"//{url_or_host}").hostname
    except ValueError:
        return None


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _handler_for(server: CodecServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_CodecHandler):
        codec_server = server

    return Handler


class _CodecHandler(BaseHTTPRequestHandler):
    codec_server: CodecServer
    server_version = "podium-codec"

    # Request threads wait this long for a slow or stalled client, then drop it.
    timeout = 10

    def do_OPTIONS(self) -> None:
        if (refusal := self._refusal()) is not None:
            return self._reply(*refusal)
        # Preflights carry no credentials: answer them for allowed origins without the token.
        self.send_response(HTTPStatus.NO_CONTENT if self._cors_origin() else HTTPStatus.FORBIDDEN)
        self._cors_headers()
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        if (refusal := self._refusal()) is not None:
            return self._reply(*refusal)
        action = self.path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        if action not in ("encode", "decode"):
            return self._reply(HTTPStatus.NOT_FOUND, {"error": "POST /encode or /decode"})
        if not self._authorized():
            return self._reply(HTTPStatus.UNAUTHORIZED, {"error": "missing or wrong bearer token"})
        length = self._content_length()
        if isinstance(length, tuple):
            return self._reply(*length)
        try:
            payloads = json_format.Parse(self.rfile.read(length), Payloads())
        except (json_format.ParseError, UnicodeDecodeError, RecursionError):
            return self._reply(HTTPStatus.BAD_REQUEST, {"error": 'expected {"payloads": [...]}'})
        except TimeoutError:
            return self._reply(HTTPStatus.REQUEST_TIMEOUT, {"error": "body not sent in time"})
        try:
            result = Payloads(payloads=self.codec_server.convert(action, payloads.payloads))
        except EncryptionError as err:
            return self._reply(HTTPStatus.BAD_REQUEST, {"error": str(err)})
        self._reply(HTTPStatus.OK, json.loads(json_format.MessageToJson(result)))

    def do_GET(self) -> None:
        self._reply(HTTPStatus.METHOD_NOT_ALLOWED, {"error": "POST /encode or /decode"})

    def _refusal(self) -> tuple[HTTPStatus, dict[str, str]] | None:
        """Why a request is refused before anything else is looked at (DNS rebinding, CSRF)."""
        host = _hostname(self.headers.get("Host", ""))
        if host is None or host.lower() not in self.codec_server.hosts:
            return HTTPStatus.MISDIRECTED_REQUEST, {"error": "this Host is not served here"}
        origin = self.headers.get("Origin")
        if origin is not None and self._cors_origin() is None:
            return HTTPStatus.FORBIDDEN, {"error": "this Origin is not allowed"}
        return None

    def _content_length(self) -> int | tuple[HTTPStatus, dict[str, str]]:
        if self.headers.get("Transfer-Encoding") is not None:
            return HTTPStatus.LENGTH_REQUIRED, {"error": "send Content-Length, not chunks"}
        given = set(self.headers.get_all("Content-Length") or [])
        if len(given) != 1:
            return HTTPStatus.LENGTH_REQUIRED, {"error": "send one Content-Length"}
        text = given.pop().strip()
        if not (text.isascii() and text.isdigit()) or len(text) > 12:
            return HTTPStatus.BAD_REQUEST, {"error": "Content-Length must be a number of bytes"}
        if int(text) > MAX_BODY_BYTES:
            return HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "body too large"}
        return int(text)

    def _authorized(self) -> bool:
        token = self.codec_server.token
        if token is None:
            return True
        given = self.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())

    def _cors_origin(self) -> str | None:
        origin = self.headers.get("Origin")
        return origin if origin and origin.rstrip("/") in self.codec_server.origins else None

    def _cors_headers(self) -> None:
        origin = self._cors_origin()
        self.send_header("Vary", "Origin")
        if origin is None:
            return
        self.send_header("Access-Control-Allow-Origin", origin)
        self.send_header("Access-Control-Allow-Credentials", "true")
        self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
        requested = self.headers.get("Access-Control-Request-Headers")
        self.send_header("Access-Control-Allow-Headers", requested or _ALLOWED_HEADERS)
        self.send_header("Access-Control-Max-Age", "600")

    def _reply(self, status: HTTPStatus, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self._cors_headers()
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        # Request lines only (never bodies): they hold no payload data.
        log.debug("codec request", line=format % args)
