"""Test keys: fixed bytes, so a failing assertion can show which key was used."""

import base64

from pydantic import SecretStr

from workers.runtime.codec import Keyring, parse_keys
from workers.runtime.settings import Settings

KEY_1 = base64.b64encode(bytes(range(32))).decode()
KEY_2 = base64.b64encode(bytes(range(100, 132))).decode()


def keyring(text: str, active: str) -> Keyring:
    return Keyring(parse_keys(text), active)


def settings_with_keys(keys: str, key_id: str | None = None, **overrides: object) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        encryption_keys=SecretStr(keys),
        encryption_key_id=key_id,
        **overrides,  # type: ignore[arg-type]
    )
