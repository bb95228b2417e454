"""The codec server speaks the Temporal UI's protocol: JSON payloads, CORS, optional token."""

import asyncio
import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from google.protobuf import json_format
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload, Payloads

from tests.security.keys import KEY_1, settings_with_keys
from workers.codec_server import MAX_CONNECTIONS, CodecServer, codec_server
from workers.runtime.codec import ENCODING, KEY_ID, EncryptionError
from workers.runtime.settings import Settings

UI = "http://localhost:8233"
PLAIN = Payload(metadata={"encoding": b"json/plain"}, data=b'{"email": "ada@example.com"}')


@pytest.fixture
def server() -> Iterator[CodecServer]:
    with codec_server(settings_with_keys(f"k1:{KEY_1}"), port=0) as running:
        yield running


@pytest.fixture
def guarded() -> Iterator[CodecServer]:
    settings = settings_with_keys(f"k1:{KEY_1}", codec_server_token=SecretStr("let-me-in"))
    with codec_server(settings, port=0) as running:
        yield running


def request(
    server: CodecServer,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    connection = http.client.HTTPConnection(server.host, server.port, timeout=5)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
        return response.status, dict(response.getheaders()), json.loads(data) if data else None
    finally:
        connection.close()


def as_json(*payloads: Payload) -> bytes:
    return json_format.MessageToJson(Payloads(payloads=payloads)).encode()


def from_json(body: Any) -> list[Payload]:
    return list(json_format.ParseDict(body, Payloads()).payloads)


def post(server: CodecServer, path: str, *payloads: Payload, **headers: str) -> list[Payload]:
    status, _, body = request(
        server, "POST", path, as_json(*payloads), {"Content-Type": "application/json", **headers}
    )
    assert status == 200, body
    return from_json(body)


def test_encode_then_decode_round_trips() -> None:
    with codec_server(settings_with_keys(f"k1:{KEY_1}"), port=0) as server:
        [encrypted] = post(server, "/encode", PLAIN)
        assert encrypted.metadata["encoding"] == ENCODING
        assert encrypted.metadata[KEY_ID] == b"k1"
        assert b"ada@example.com" not in encrypted.data
        assert post(server, "/decode", encrypted) == [PLAIN]


def test_decode_passes_unencrypted_payloads_through(server: CodecServer) -> None:
    assert post(server, "/decode", PLAIN) == [PLAIN]


def test_only_loopback_by_default(server: CodecServer) -> None:
    assert server.host == "127.0.0.1"


def test_ui_origin_gets_cors_headers_and_preflight(server: CodecServer) -> None:
    status, headers, _ = request(
        server,
        "OPTIONS",
        "/decode",
        headers={
            "Origin": UI,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-namespace",
        },
    )
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == UI
    assert "POST" in headers["Access-Control-Allow-Methods"]
    assert headers["Access-Control-Allow-Headers"] == "content-type,x-namespace"
    assert headers["Access-Control-Allow-Credentials"] == "true"

    [encrypted] = post(server, "/encode", PLAIN)
    status, headers, _ = request(
        server, "POST", "/decode", as_json(encrypted), {"Origin": UI, "X-Namespace": "default"}
    )
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == UI


def test_other_origins_get_no_cors_headers(server: CodecServer) -> None:
    status, headers, _ = request(
        server, "OPTIONS", "/decode", headers={"Origin": "https://evil.example"}
    )
    assert status == 403
    assert "Access-Control-Allow-Origin" not in headers


def test_wrong_or_missing_token_is_401_the_right_one_works(guarded: CodecServer) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "let-me-in"}):
        status, _, body = request(guarded, "POST", "/encode", as_json(PLAIN), headers)
        assert status == 401, headers
        assert body == {"error": "missing or wrong bearer token"}
    [encrypted] = post(guarded, "/encode", PLAIN, Authorization="Bearer let-me-in")
    assert post(guarded, "/decode", encrypted, Authorization="Bearer let-me-in") == [PLAIN]


def test_preflight_does_not_need_the_token(guarded: CodecServer) -> None:
    status, _, _ = request(guarded, "OPTIONS", "/decode", headers={"Origin": UI})
    assert status == 204


def test_bad_requests_are_refused_plainly(server: CodecServer) -> None:
    assert request(server, "POST", "/decode", b"not json")[0] == 400
    assert request(server, "POST", "/elsewhere", as_json(PLAIN))[0] == 404
    tampered = Payload(metadata={"encoding": ENCODING, KEY_ID: b"k9"}, data=b"x" * 40)
    status, _, body = request(server, "POST", "/decode", as_json(tampered))
    assert status == 400
    assert "unknown key id 'k9'" in body["error"]


def test_refuses_to_start_without_keys() -> None:
    with pytest.raises(EncryptionError, match="encryption is off"):
        codec_server(Settings(_env_file=None))  # type: ignore[call-arg]


def raw_exchange(server: CodecServer, head: str, body: bytes = b"") -> int:
    """Send a hand-written request (headers http.client would not send) and return the status."""
    with socket.create_connection((server.host, server.port), timeout=15) as conn:
        conn.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        return int(conn.makefile("rb").readline().split()[1])


@pytest.mark.parametrize(
    ("length_headers", "status"),
    [
        ("Content-Length: -1\n", 400),
        ("Content-Length: 12abc\n", 400),
        ("Content-Length: ١٢\n", 400),
        ("Content-Length: 99999999999999999999\n", 400),
        ("Content-Length: 8388609\n", 413),
        ("", 411),
        ("Content-Length: 2\nContent-Length: 3\n", 411),
        ("Transfer-Encoding: chunked\n", 411),
    ],
)
def test_content_length_must_be_one_sane_number(
    server: CodecServer, length_headers: str, status: int
) -> None:
    head = f"POST /decode HTTP/1.1\nHost: 127.0.0.1:{server.port}\n{length_headers}\n"
    assert raw_exchange(server, head, b"{}") == status


def test_a_client_that_never_sends_its_body_is_dropped(server: CodecServer) -> None:
    head = f"POST /decode HTTP/1.1\nHost: 127.0.0.1:{server.port}\nContent-Length: 100\n\n"
    assert raw_exchange(server, head, b"{") == 408


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8089", "localhost.evil.example", "", "[::1"]
)
def test_a_foreign_host_is_refused_even_without_a_token(server: CodecServer, host: str) -> None:
    # DNS rebinding: a page at evil.example, resolved to 127.0.0.1, names its own host.
    status, _, _ = request(server, "POST", "/decode", as_json(PLAIN), {"Host": host})
    assert status == 421
    status, _, _ = request(server, "OPTIONS", "/decode", headers={"Host": host, "Origin": UI})
    assert status == 421


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "LOCALHOST", "[::1]"])
def test_loopback_names_are_served(server: CodecServer, host: str) -> None:
    status, _, _ = request(
        server, "POST", "/decode", as_json(PLAIN), {"Host": f"{host}:{server.port}"}
    )
    assert status == 200


def test_a_post_from_a_foreign_origin_is_refused_even_without_a_token(
    server: CodecServer,
) -> None:
    # A form or fetch from another site needs no preflight: its Origin is checked on the POST.
    headers = {"Origin": "https://evil.example", "Content-Type": "text/plain"}
    status, response_headers, _ = request(server, "POST", "/decode", as_json(PLAIN), headers)
    assert status == 403 and "Access-Control-Allow-Origin" not in response_headers
    assert post(server, "/decode", PLAIN, Origin=UI) == [PLAIN]


def test_requests_share_one_event_loop(server: CodecServer) -> None:
    seen: set[int] = set()
    codec = server.codec
    original = codec.decode

    async def spying(payloads: Any) -> Any:
        seen.add(id(asyncio.get_running_loop()))
        return await original(payloads)

    codec.decode = spying  # type: ignore[method-assign]
    threads = [threading.Thread(target=post, args=(server, "/decode", PLAIN)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 1


def test_connections_beyond_the_limit_are_closed_not_queued(server: CodecServer) -> None:
    # Clients that connect and send nothing hold their slot until the request timeout.
    idle = [socket.create_connection((server.host, server.port)) for _ in range(MAX_CONNECTIONS)]
    try:
        time.sleep(0.5)
        with socket.create_connection((server.host, server.port), timeout=5) as extra:
            assert extra.recv(1) == b""  # closed by the server at once
    finally:
        for conn in idle:
            conn.close()
    time.sleep(0.5)
    assert post(server, "/decode", PLAIN) == [PLAIN]  # the slots came back
