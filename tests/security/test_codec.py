"""The payload encryption codec: AES-256-GCM, key ids in metadata, rotation, pass-through."""

import dataclasses

import pytest
from temporalio.api.common.v1 import Payload

from contracts.order import OrderRequest
from tests.security.keys import KEY_1, KEY_2, keyring, settings_with_keys
from tests.support.factories import an_order
from workers.runtime.codec import (
    ENCODING,
    KEY_ID,
    PLAIN_CONVERTER,
    EncryptionCodec,
    EncryptionError,
    data_converter,
    generate_key,
    keyring_from_settings,
    parse_keys,
)
from workers.runtime.settings import Settings

PLAIN = Payload(metadata={"encoding": b"json/plain"}, data=b'{"email": "ada@example.com"}')


async def test_round_trip_restores_metadata_and_data() -> None:
    codec = EncryptionCodec(keyring(f"k1:{KEY_1}", "k1"))
    [encrypted] = await codec.encode([PLAIN])
    assert encrypted.metadata["encoding"] == ENCODING
    assert encrypted.metadata[KEY_ID] == b"k1"
    assert b"ada@example.com" not in encrypted.SerializeToString()
    assert await codec.decode([encrypted]) == [PLAIN]


async def test_each_payload_gets_its_own_nonce() -> None:
    codec = EncryptionCodec(keyring(f"k1:{KEY_1}", "k1"))
    first, second = await codec.encode([PLAIN, PLAIN])
    assert first.data[:12] != second.data[:12]
    assert first.data != second.data


async def test_tampered_ciphertext_is_refused() -> None:
    codec = EncryptionCodec(keyring(f"k1:{KEY_1}", "k1"))
    [encrypted] = await codec.encode([PLAIN])
    data = bytearray(encrypted.data)
    data[-1] ^= 1
    tampered = Payload(metadata=encrypted.metadata, data=bytes(data))
    with pytest.raises(EncryptionError, match="'k1' failed authentication"):
        await codec.decode([tampered])


async def test_relabelled_key_id_is_refused() -> None:
    """The key id is authenticated data: moving a payload under another known id fails."""
    codec = EncryptionCodec(keyring(f"k1:{KEY_1},k2:{KEY_1}", "k1"))
    [encrypted] = await codec.encode([PLAIN])
    relabelled = Payload(metadata={**encrypted.metadata, KEY_ID: b"k2"}, data=encrypted.data)
    with pytest.raises(EncryptionError, match="failed authentication"):
        await codec.decode([relabelled])


async def test_rotation_old_payloads_decrypt_new_ones_use_the_new_key() -> None:
    before = EncryptionCodec(keyring(f"k1:{KEY_1}", "k1"))
    during = EncryptionCodec(keyring(f"k1:{KEY_1},k2:{KEY_2}", "k2"))
    [old] = await before.encode([PLAIN])
    [new] = await during.encode([PLAIN])
    assert new.metadata[KEY_ID] == b"k2"
    assert await during.decode([old, new]) == [PLAIN, PLAIN]
    with pytest.raises(EncryptionError, match="unknown key id 'k2'"):
        await before.decode([new])


async def test_unknown_key_id_names_the_id_and_the_fix() -> None:
    codec = EncryptionCodec(keyring(f"k2:{KEY_2}", "k2"))
    [encrypted] = await EncryptionCodec(keyring(f"k1:{KEY_1}", "k1")).encode([PLAIN])
    with pytest.raises(EncryptionError) as caught:
        await codec.decode([encrypted])
    assert str(caught.value) == (
        "payload encrypted with unknown key id 'k1'; known ids: k2 "
        "(add it to PODIUM_ENCRYPTION_KEYS)"
    )


async def test_unencrypted_payloads_pass_through_decode_untouched() -> None:
    """Histories written before encryption was turned on still replay."""
    codec = EncryptionCodec(keyring(f"k1:{KEY_1}", "k1"))
    binary_null = Payload(metadata={"encoding": b"binary/null"})
    assert await codec.decode([PLAIN, binary_null]) == [PLAIN, binary_null]


async def test_data_converter_encrypts_pydantic_models_end_to_end() -> None:
    converter = data_converter(settings_with_keys(f"k1:{KEY_1}"))
    order = an_order()
    [payload] = await converter.encode([order])
    assert payload.metadata["encoding"] == ENCODING
    assert order.email.encode() not in payload.data
    [back] = await converter.decode([payload], [OrderRequest])
    assert back == order


def test_encryption_is_off_by_default() -> None:
    assert data_converter(Settings(_env_file=None)) is PLAIN_CONVERTER  # type: ignore[call-arg]


def test_active_key_defaults_to_the_first_listed() -> None:
    ring = keyring_from_settings(settings_with_keys(f"new:{KEY_2},old:{KEY_1}"))
    assert ring is not None and ring.active == "new"
    assert KEY_1 not in repr(ring) and "keys" not in repr(ring)


@pytest.mark.parametrize(
    ("keys", "key_id", "message"),
    [
        ("k1", None, "PODIUM_ENCRYPTION_KEYS entry 1 is not `id:base64key`"),
        ("k1:not base64!", None, "PODIUM_ENCRYPTION_KEYS: key 'k1' is not valid base64"),
        ("k1:AAAA", None, "PODIUM_ENCRYPTION_KEYS: key 'k1' has 3 bytes, AES-256 needs 32"),
        (f"k1:{KEY_1},k1:{KEY_2}", None, "PODIUM_ENCRYPTION_KEYS: key id 'k1' is listed twice"),
        (" , ", None, "PODIUM_ENCRYPTION_KEYS is set but lists no key"),
        (f"k1:{KEY_1}", "k9", "PODIUM_ENCRYPTION_KEY_ID='k9' is not among PODIUM_ENCRYPTION_KEYS"),
    ],
)
def test_bad_key_settings_fail_with_a_one_line_message_without_the_key(
    keys: str, key_id: str | None, message: str
) -> None:
    with pytest.raises(EncryptionError) as caught:
        keyring_from_settings(settings_with_keys(keys, key_id))
    text = str(caught.value)
    assert text.startswith(message)
    assert "\n" not in text
    assert KEY_1 not in text and KEY_2 not in text
    # No chained exception (which could quote the input) is shown with it.
    assert caught.value.__context__ is None or caught.value.__suppress_context__


def test_key_id_without_keys_is_refused() -> None:
    settings = Settings(_env_file=None, encryption_key_id="k1")  # type: ignore[call-arg]
    with pytest.raises(EncryptionError, match="PODIUM_ENCRYPTION_KEYS is not"):
        keyring_from_settings(settings)


def test_generated_keys_are_usable() -> None:
    key = generate_key()
    assert len(parse_keys(f"fresh:{key}")["fresh"]) == 32


def test_settings_read_keys_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PODIUM_ENCRYPTION_KEYS", f"k1:{KEY_1},k2:{KEY_2}")
    monkeypatch.setenv("PODIUM_ENCRYPTION_KEY_ID", "k2")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    ring = keyring_from_settings(settings)
    assert ring is not None and ring.active == "k2" and set(ring.keys) == {"k1", "k2"}
    assert dataclasses.replace(ring, active="k1").active == "k1"
