"""Unusual but legal recipient addresses give correct headers; impossible ones are refused."""

from email import message_from_string, policy

import pytest

from consumers.emails import deliverable_address, needs_smtputf8, render
from tests.support.consumers import completed


@pytest.mark.parametrize(
    ("address", "to", "envelope"),
    [
        ('"john doe"@example.com', '"john doe"@example.com', '"john doe"@example.com'),
        ('"a\\"b"@example.com', '"a\\"b"@example.com', '"a\\"b"@example.com'),
        ("jörg@example.de", "jörg@example.de", "jörg@example.de"),
        ("info@bücher.de", "info@xn--bcher-kva.de", "info@xn--bcher-kva.de"),
        ('"plain"@example.com', "plain@example.com", "plain@example.com"),
    ],
)
def test_the_to_header_and_envelope_hold_the_address_correctly(
    address: str, to: str, envelope: str
) -> None:
    email = render(completed(email=address), "Podium <shop@example.com>")
    # SMTPUTF8 headers are UTF-8 text (message_from_bytes would read them as undecodable).
    parsed = message_from_string(email.raw.decode(), policy=policy.default)
    assert str(parsed["To"]) == to
    assert [a.addr_spec for a in parsed["To"].addresses] == [to]
    assert email.recipient == envelope
    assert b"=?utf-8?" not in email.raw.split(b"\r\n\r\n")[0]  # never an encoded address


def test_only_an_international_local_part_needs_smtputf8() -> None:
    assert needs_smtputf8(deliverable_address("jörg@example.de").addr_spec)
    assert not needs_smtputf8(deliverable_address("info@bücher.de").addr_spec)
    assert not needs_smtputf8(deliverable_address('"john doe"@example.com').addr_spec)


@pytest.mark.parametrize("address", ["no-at-sign", "a@b", "a\r\nBcc: x@example.com"])
def test_an_undeliverable_address_is_a_value_error(address: str) -> None:
    with pytest.raises(ValueError):
        deliverable_address(address)
