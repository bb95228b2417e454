"""TLS for the two connections Podium makes: RabbitMQ (aio-pika) and Temporal (gRPC).

Both are off unless configured. Misconfiguration fails at connect time with a one-line message
naming the setting, never silently falling back to plain text.
"""

import ssl
from pathlib import Path
from urllib.parse import urlsplit

from temporalio.service import TLSConfig

from workers.runtime.settings import Settings


class TLSSettingsError(Exception):
    """A TLS setting points at a missing or unusable file, or contradicts another setting."""


def amqp_ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """A context verifying the broker (and presenting our certificate) when files are set."""
    ca, cert, key = settings.amqp_ca_file, settings.amqp_cert_file, settings.amqp_key_file
    if ca is None and cert is None and key is None:
        return None  # an amqps:// URL alone still uses TLS, with the system's CAs
    if urlsplit(settings.amqp_url).scheme != "amqps":
        # aio-pika ignores a context on amqp:// URLs: refuse rather than connect in plain text.
        raise TLSSettingsError("PODIUM_AMQP_*_FILE are set but PODIUM_AMQP_URL is not amqps://")
    if key is not None and cert is None:
        raise TLSSettingsError("PODIUM_AMQP_KEY_FILE is set without PODIUM_AMQP_CERT_FILE")
    try:
        context = ssl.create_default_context(cafile=_existing("PODIUM_AMQP_CA_FILE", ca))
    except ssl.SSLError as err:
        raise TLSSettingsError(f"PODIUM_AMQP_CA_FILE={ca}: not a PEM CA bundle ({err})") from None
    if cert is not None:
        _existing("PODIUM_AMQP_CERT_FILE", cert)
        key_file = _existing("PODIUM_AMQP_KEY_FILE", key)
        try:
            context.load_cert_chain(cert, key_file)
        except ssl.SSLError as err:
            raise TLSSettingsError(
                f"PODIUM_AMQP_CERT_FILE={cert} / PODIUM_AMQP_KEY_FILE={key}: "
                f"not a matching PEM certificate and key ({err.reason or err})"
            ) from None
    return context


def temporal_tls(settings: Settings) -> TLSConfig | bool:
    """What to pass as `Client.connect(tls=...)`: a TLSConfig, True (system CAs) or False."""
    ca, cert, key = (
        settings.temporal_tls_ca_file,
        settings.temporal_tls_cert_file,
        settings.temporal_tls_key_file,
    )
    if (cert is None) != (key is None):
        raise TLSSettingsError(
            "PODIUM_TEMPORAL_TLS_CERT_FILE and PODIUM_TEMPORAL_TLS_KEY_FILE go together (mTLS)"
        )
    if ca is None and cert is None and settings.temporal_tls_server_name is None:
        # An API key is only sent over TLS; Temporal Cloud's certificates chain to system CAs.
        return settings.temporal_tls or settings.temporal_api_key is not None
    return TLSConfig(
        server_root_ca_cert=_read("PODIUM_TEMPORAL_TLS_CA_FILE", ca),
        client_cert=_read("PODIUM_TEMPORAL_TLS_CERT_FILE", cert),
        client_private_key=_read("PODIUM_TEMPORAL_TLS_KEY_FILE", key),
        domain=settings.temporal_tls_server_name,
    )


def _existing(setting: str, path: Path | None) -> str | None:
    if path is None:
        return None
    if not path.is_file():
        raise TLSSettingsError(f"{setting}={path}: no such file")
    return str(path)


def _read(setting: str, path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        data = path.read_bytes()
    except OSError as err:
        raise TLSSettingsError(f"{setting}={path}: cannot read ({err.strerror})") from None
    if b"-----BEGIN " not in data:
        raise TLSSettingsError(f"{setting}={path}: not a PEM file")
    return data


def temporal_api_key(settings: Settings) -> str | None:
    key = settings.temporal_api_key
    return None if key is None else key.get_secret_value()
