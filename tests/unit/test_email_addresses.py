"""Legal addresses pass the boundary (international, quoted); others are refused, fast."""

import time

import pytest
from pydantic import TypeAdapter, ValidationError

from contracts.addresses import ascii_domain
from contracts.order import Email
from tests.support.factories import an_order

EMAIL = TypeAdapter(Email)

LEGAL = [
    "ada@example.com",
    "jörg@example.de",
    "info@bücher.de",
    '"john doe"@example.com',
    '"a\\"b"@example.com',
    '"at@sign"@example.com',
    "o'brien+tag@sub.example.co.uk",
    "用户@例子.广告",
    "x" * 64 + "@example.com",
]

ILLEGAL = [
    "not-an-email",
    "a@b",
    "a@b.c",
    "a@example.123",
    "a b@example.com",
    ".a@example.com",
    "a.@example.com",
    "a..b@example.com",
    '"a"b"@example.com',
    '"unterminated\\"@example.com',
    "a\n@example.com",
    "a@exa mple.com",
    "a@-example.com",
    "a@example..com",
    "x" * 65 + "@example.com",
    "a@" + "b" * 64 + ".com",
    "a@" + "b." * 130 + "com",
    "",
]


@pytest.mark.parametrize("address", LEGAL)
def test_a_legal_address_is_accepted_unchanged(address: str) -> None:
    assert EMAIL.validate_python(address) == address
    assert an_order(email=address).email == address


@pytest.mark.parametrize("address", ILLEGAL)
def test_an_illegal_address_is_refused(address: str) -> None:
    with pytest.raises(ValidationError):
        EMAIL.validate_python(address)


def test_international_domains_have_their_dns_form() -> None:
    assert ascii_domain("bücher.de") == "xn--bcher-kva.de"
    assert ascii_domain("Example.COM") == "example.com"


@pytest.mark.parametrize("text", ["a" * 5_000_000, "@" * 5_000_000, '"' + "a" * 5_000_000])
def test_a_huge_value_is_refused_at_once(text: str) -> None:
    start = time.perf_counter()
    with pytest.raises(ValidationError):
        EMAIL.validate_python(text)
    assert time.perf_counter() - start < 0.05
