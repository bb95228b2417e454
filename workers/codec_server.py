"""`podium codec-server`: the Temporal codec server protocol over the encryption codec.

The Temporal UI (or `temporal workflow show --codec-endpoint`) POSTs `{"payloads": [...]}` in
protobuf JSON to `/decode` or `/encode` and shows what comes back, so an operator who runs this
server with the keys sees decrypted payloads while the Temporal server only ever stores
ciphertext. The browser calls it directly: it answers CORS preflights for the UI's origins only.
"""

import asyncio
import hmac
import ipaddress
import json
import threading
from collections.abc import Iterable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self

import structlog
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads
from temporalio.converter import PayloadCodec

from workers.runtime.codec import EncryptionCodec, EncryptionError, keyring_from_settings
from workers.runtime.settings import Settings

log = structlog.get_logger(__name__)
MAX_BODY_BYTES = 8 * 1024 * 1024
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
    ) -> None:
        self.codec = codec
        self.origins = frozenset(o.rstrip("/") for o in origins)
        self.token = token
        self._http = ThreadingHTTPServer((host, port), _handler_for(self))
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, name="codec-server")

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
        self._thread.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


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

    def do_OPTIONS(self) -> None:
        # Preflights carry no credentials: answer them for allowed origins without the token.
        self.send_response(HTTPStatus.NO_CONTENT if self._cors_origin() else HTTPStatus.FORBIDDEN)
        self._cors_headers()
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        action = self.path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        if action not in ("encode", "decode"):
            return self._reply(HTTPStatus.NOT_FOUND, {"error": "POST /encode or /decode"})
        if not self._authorized():
            return self._reply(HTTPStatus.UNAUTHORIZED, {"error": "missing or wrong bearer token"})
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            return self._reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "body too large"})
        try:
            payloads = json_format.Parse(self.rfile.read(length), Payloads())
        except (json_format.ParseError, UnicodeDecodeError):
            return self._reply(HTTPStatus.BAD_REQUEST, {"error": 'expected {"payloads": [...]}'})
        codec = self.codec_server.codec
        try:
            convert = codec.encode if action == "encode" else codec.decode
            result = Payloads(payloads=asyncio.run(convert(payloads.payloads)))
        except EncryptionError as err:
            return self._reply(HTTPStatus.BAD_REQUEST, {"error": str(err)})
        self._reply(HTTPStatus.OK, json.loads(json_format.MessageToJson(result)))

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
