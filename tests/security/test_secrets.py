"""Secrets stay out of reprs, error messages and printed URLs."""

import pytest
from pydantic import SecretStr

from tests.security.keys import KEY_1
from workers.runtime.redaction import redact_urls
from workers.runtime.settings import Settings

PASSWORD = "Zq9-generated-pw"


def test_secret_settings_are_masked_in_repr_and_str() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        encryption_keys=SecretStr(f"k1:{KEY_1}"),
        temporal_api_key=SecretStr("api-key-123"),
        codec_server_token=SecretStr("token-456"),
    )
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert KEY_1 not in text
        assert "api-key-123" not in text
        assert "token-456" not in text


def test_secret_settings_are_masked_in_validation_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PODIUM_ENCRYPTION_KEYS", f"k1:{KEY_1}")
    monkeypatch.setenv("PODIUM_CODEC_SERVER_PORT", "not-a-port")
    with pytest.raises(ValueError) as caught:
        Settings(_env_file=None)  # type: ignore[call-arg]
    assert KEY_1 not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            f"amqp://podium:{PASSWORD}@localhost:5679/podium",
            "amqp://podium:******@localhost:5679/podium",
        ),
        (f"amqps://podium:{PASSWORD}@mq.internal/", "amqps://podium:******@mq.internal/"),
        ("amqp://podium@localhost:5679/podium", "amqp://podium@localhost:5679/podium"),
        ("localhost:7233", "localhost:7233"),
    ],
)
def test_a_url_keeps_all_but_its_password(url: str, shown: str) -> None:
    assert redact_urls(url) == shown


def test_redact_urls_masks_passwords_inside_text() -> None:
    text = f"cannot connect to amqp://podium:{PASSWORD}@localhost:5679/podium: refused"
    assert redact_urls(text) == (
        "cannot connect to amqp://podium:******@localhost:5679/podium: refused"
    )
    assert redact_urls("see http://localhost:8233/namespaces") == (
        "see http://localhost:8233/namespaces"
    )


def test_amqp_password_is_not_in_the_settings_repr() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        amqp_url=f"amqp://podium:{PASSWORD}@localhost:5679/podium",
    )
    assert PASSWORD not in repr(settings)
