"""Payload encryption: AES-256-GCM over every payload Temporal stores (inputs, results, failures).

The server and anyone reading its database see only ciphertext; workers, clients and the codec
server holding a key decrypt. Payloads carry their key id, so several keys can decrypt while one
encrypts (rotation), and payloads written before encryption was enabled still decode untouched.
"""

import base64
import binascii
import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

from workers.runtime.payloads import PLAIN_CONVERTER
from workers.runtime.settings import Settings

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
_NONCE_BYTES = 12  # 96 bits, the size GCM is designed for; random per payload
_KEY_BYTES = 32  # AES-256


class EncryptionError(Exception):
    """Encryption is misconfigured or a payload cannot be decrypted. Never holds key material."""


@dataclass(frozen=True)
class Keyring:
    keys: Mapping[str, bytes] = dataclasses.field(repr=False)
    active: str

    def __post_init__(self) -> None:
        if self.active not in self.keys:
            raise EncryptionError(
                f"PODIUM_ENCRYPTION_KEY_ID={self.active!r} is not among PODIUM_ENCRYPTION_KEYS "
                f"(ids: {', '.join(sorted(self.keys))})"
            )


def generate_key() -> str:
    """A new random AES-256 key, base64-encoded for PODIUM_ENCRYPTION_KEYS."""
    return base64.b64encode(os.urandom(_KEY_BYTES)).decode()


def parse_keys(text: str) -> dict[str, bytes]:
    """`id1:base64key,id2:base64key` -> {id: key}; errors name the key id, never the key."""
    keys: dict[str, bytes] = {}
    for position, entry in enumerate(filter(None, (e.strip() for e in text.split(","))), 1):
        key_id, sep, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not sep or not key_id:
            raise EncryptionError(f"PODIUM_ENCRYPTION_KEYS entry {position} is not `id:base64key`")
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise EncryptionError(
                f"PODIUM_ENCRYPTION_KEYS: key {key_id!r} is not valid base64"
            ) from None
        if len(key) != _KEY_BYTES:
            raise EncryptionError(
                f"PODIUM_ENCRYPTION_KEYS: key {key_id!r} has {len(key)} bytes, AES-256 needs 32"
            )
        if key_id in keys:
            raise EncryptionError(f"PODIUM_ENCRYPTION_KEYS: key id {key_id!r} is listed twice")
        keys[key_id] = key
    if not keys:
        raise EncryptionError("PODIUM_ENCRYPTION_KEYS is set but lists no key")
    return keys


def keyring_from_settings(settings: Settings) -> Keyring | None:
    """The configured keys, or None when encryption is off."""
    if settings.encryption_keys is None:
        if settings.encryption_key_id:
            raise EncryptionError(
                "PODIUM_ENCRYPTION_KEY_ID is set but PODIUM_ENCRYPTION_KEYS is not"
            )
        return None
    keys = parse_keys(settings.encryption_keys.get_secret_value())
    return Keyring(keys, settings.encryption_key_id or next(iter(keys)))


class EncryptionCodec(PayloadCodec):
    """Encrypts each whole payload (metadata and data) with the active key."""

    def __init__(self, keyring: Keyring) -> None:
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keyring.keys.items()}
        self._active = keyring.active

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._decrypt(p) for p in payloads]

    def _encrypt(self, payload: Payload) -> Payload:
        nonce = os.urandom(_NONCE_BYTES)
        key_id = self._active.encode()
        # The key id is authenticated too: relabelling a payload with another id fails.
        sealed = self._ciphers[self._active].encrypt(nonce, payload.SerializeToString(), key_id)
        return Payload(metadata={"encoding": ENCODING, KEY_ID: key_id}, data=nonce + sealed)

    def _decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written before encryption was enabled: pass it through
        key_id = payload.metadata.get(KEY_ID, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise EncryptionError(
                f"payload encrypted with unknown key id {key_id!r}; "
                f"known ids: {', '.join(sorted(self._ciphers))} (add it to PODIUM_ENCRYPTION_KEYS)"
            )
        nonce, sealed = payload.data[:_NONCE_BYTES], payload.data[_NONCE_BYTES:]
        try:
            plain = cipher.decrypt(nonce, sealed, key_id.encode())
        except InvalidTag:
            raise EncryptionError(
                f"payload encrypted with key {key_id!r} failed authentication"
                " (tampered or truncated)"
            ) from None
        return Payload.FromString(plain)


def data_converter(settings: Settings) -> DataConverter:
    """The pydantic converter, with the encryption codec when keys are configured."""
    keyring = keyring_from_settings(settings)
    if keyring is None:
        return PLAIN_CONVERTER
    return dataclasses.replace(
        PLAIN_CONVERTER,
        payload_codec=EncryptionCodec(keyring),
        # Failure messages and stack traces can quote inputs: encrypt them like payloads.
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
