"""TLS settings become an SSLContext for aio-pika and a TLSConfig / API key for Temporal."""

import asyncio
import ssl
from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.service import TLSConfig

from tests.security.certs import Certs, make_certs
from workers.runtime.settings import Settings
from workers.runtime.tls import (
    TLSSettingsError,
    amqp_ssl_context,
    temporal_api_key,
    temporal_tls,
)

AMQPS = "amqps://podium:s3cret-pw@localhost:5671/podium"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg,arg-type]


def one_line_error(**values: object) -> str:
    """The error for these settings (AMQP ones when an amqp_url is given, else Temporal ones)."""
    build = amqp_ssl_context if "amqp_url" in values else temporal_tls
    with pytest.raises(TLSSettingsError) as caught:
        build(settings(**values))
    text = str(caught.value)
    assert "\n" not in text
    assert "s3cret-pw" not in text
    return text


def test_no_tls_settings_leave_aio_pika_defaults() -> None:
    assert amqp_ssl_context(settings()) is None
    assert amqp_ssl_context(settings(amqp_url=AMQPS)) is None


def test_ca_file_gives_a_verifying_context(certs: Certs) -> None:
    context = amqp_ssl_context(settings(amqp_url=AMQPS, amqp_ca_file=certs.ca))
    assert context is not None
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert [c["subject"] for c in context.get_ca_certs()] == [
        ((("commonName", "podium test CA"),),)
    ]


def test_client_certificate_is_loaded_for_mutual_tls(certs: Certs) -> None:
    context = amqp_ssl_context(
        settings(
            amqp_url=AMQPS,
            amqp_ca_file=certs.ca,
            amqp_cert_file=certs.client_cert,
            amqp_key_file=certs.client_key,
        )
    )
    assert isinstance(context, ssl.SSLContext)


async def test_the_context_completes_a_handshake_with_a_server_of_that_ca(certs: Certs) -> None:
    """Not only built: it verifies the server and presents the client certificate."""
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=certs.ca)
    server_side.load_cert_chain(certs.server_cert, certs.server_key)
    server_side.verify_mode = ssl.CERT_REQUIRED
    peers: list[object] = []

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peers.append(writer.get_extra_info("peercert")["subject"])
        writer.close()

    server = await asyncio.start_server(on_client, "127.0.0.1", 0, ssl=server_side)
    port = server.sockets[0].getsockname()[1]
    context = amqp_ssl_context(
        settings(
            amqp_url=AMQPS,
            amqp_ca_file=certs.ca,
            amqp_cert_file=certs.client_cert,
            amqp_key_file=certs.client_key,
        )
    )
    async with server:
        _, writer = await asyncio.open_connection(
            "localhost", port, ssl=context, server_hostname="localhost"
        )
        writer.close()
        await asyncio.sleep(0.1)
    assert peers == [((("commonName", "client"),),)]


def test_tls_files_with_a_plain_amqp_url_are_refused(certs: Certs) -> None:
    """aio-pika would ignore the context and connect in plain text."""
    message = one_line_error(
        amqp_url="amqp://podium:s3cret-pw@localhost/podium", amqp_ca_file=certs.ca
    )
    assert message == "PODIUM_AMQP_*_FILE are set but PODIUM_AMQP_URL is not amqps://"


def test_missing_amqp_file_names_the_setting(tmp_path: Path, certs: Certs) -> None:
    missing = tmp_path / "nope.pem"
    assert one_line_error(amqp_url=AMQPS, amqp_ca_file=missing) == (
        f"PODIUM_AMQP_CA_FILE={missing}: no such file"
    )
    assert one_line_error(
        amqp_url=AMQPS, amqp_cert_file=certs.client_cert, amqp_key_file=missing
    ) == (f"PODIUM_AMQP_KEY_FILE={missing}: no such file")


def test_key_without_certificate_is_refused(certs: Certs) -> None:
    assert one_line_error(amqp_url=AMQPS, amqp_key_file=certs.client_key) == (
        "PODIUM_AMQP_KEY_FILE is set without PODIUM_AMQP_CERT_FILE"
    )


def test_mismatched_or_garbage_pem_is_a_clear_error(tmp_path: Path, certs: Certs) -> None:
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    assert one_line_error(amqp_url=AMQPS, amqp_ca_file=garbage).startswith(
        f"PODIUM_AMQP_CA_FILE={garbage}: not a PEM CA bundle"
    )
    assert one_line_error(
        amqp_url=AMQPS, amqp_cert_file=certs.client_cert, amqp_key_file=certs.server_key
    ).startswith(f"PODIUM_AMQP_CERT_FILE={certs.client_cert} / PODIUM_AMQP_KEY_FILE=")


def test_temporal_is_plain_text_by_default() -> None:
    assert temporal_tls(settings()) is False
    assert temporal_api_key(settings()) is None


def test_temporal_api_key_implies_tls_with_system_roots() -> None:
    configured = settings(temporal_api_key=SecretStr("cloud-key-123"))
    assert temporal_tls(configured) is True
    assert temporal_api_key(configured) == "cloud-key-123"
    assert "cloud-key-123" not in repr(configured)


def test_temporal_tls_can_be_forced_without_files() -> None:
    assert temporal_tls(settings(temporal_tls=True)) is True


def test_temporal_mtls_files_are_read_into_a_tls_config(certs: Certs) -> None:
    config = temporal_tls(
        settings(
            temporal_tls_ca_file=certs.ca,
            temporal_tls_cert_file=certs.client_cert,
            temporal_tls_key_file=certs.client_key,
            temporal_tls_server_name="temporal.internal",
        )
    )
    assert isinstance(config, TLSConfig)
    assert config.server_root_ca_cert == certs.ca.read_bytes()
    assert config.client_cert == certs.client_cert.read_bytes()
    assert config.client_private_key == certs.client_key.read_bytes()
    assert config.domain == "temporal.internal"


def test_temporal_tls_errors_name_the_setting(tmp_path: Path, certs: Certs) -> None:
    missing, garbage = tmp_path / "missing.pem", tmp_path / "garbage.pem"
    garbage.write_text("hello")
    assert one_line_error(temporal_tls_cert_file=certs.client_cert) == (
        "PODIUM_TEMPORAL_TLS_CERT_FILE and PODIUM_TEMPORAL_TLS_KEY_FILE go together (mTLS)"
    )
    assert one_line_error(temporal_tls_ca_file=missing) == (
        f"PODIUM_TEMPORAL_TLS_CA_FILE={missing}: cannot read (No such file or directory)"
    )
    assert one_line_error(temporal_tls_ca_file=garbage) == (
        f"PODIUM_TEMPORAL_TLS_CA_FILE={garbage}: not a PEM file"
    )


def test_tls_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, certs: Certs
) -> None:
    monkeypatch.setenv("PODIUM_AMQP_URL", AMQPS)
    monkeypatch.setenv("PODIUM_AMQP_CA_FILE", str(certs.ca))
    monkeypatch.setenv("PODIUM_TEMPORAL_TLS_CA_FILE", str(certs.ca))
    loaded = Settings(_env_file=None)  # type: ignore[call-arg]
    assert amqp_ssl_context(loaded) is not None
    assert isinstance(temporal_tls(loaded), TLSConfig)
