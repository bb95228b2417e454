"""Logged text is bounded and redacted in linear time, whatever a message body put in it."""

import time

import pytest

from contracts.scrub import MAX_FIELD, clean, scrub
from workers.runtime.logging import MAX_EXCEPTION, REDACTED, redact_personal_data
from workers.runtime.redaction import redact_urls

MB = 1_000_000

ADVERSARIAL = [
    "a" * (4 * MB),  # one long run, no @
    "a." * (2 * MB),  # dots but no @
    "@" * (4 * MB),  # only @
    "a@" * (2 * MB),  # @ after @, no domain
    "a@a." * MB,  # almost a domain, over and over
    "x@" + "b" * (4 * MB),  # a domain that never gets its dot
    ('"' + "q" * 60 + '"@') * 60_000,  # quoted local parts, no domain
    "tok_" * MB,
    " " * (4 * MB) + "@",
]


@pytest.mark.parametrize("text", ADVERSARIAL, ids=lambda t: repr(t[:8]))
def test_logging_a_multi_megabyte_adversarial_field_is_fast_and_bounded(text: str) -> None:
    start = time.perf_counter()
    out = redact_personal_data(None, "info", {"event": "x", "error": text, "exception": text})
    assert time.perf_counter() - start < 0.1
    assert len(out["error"]) < MAX_FIELD + 40
    assert len(out["exception"]) < MAX_EXCEPTION + 40
    assert out["error"].endswith(f"[truncated {len(text) - MAX_FIELD} chars]")


@pytest.mark.parametrize("text", ADVERSARIAL[:7], ids=lambda t: repr(t[:8]))
def test_scrubbing_is_linear_even_unbounded(text: str) -> None:
    # Quadratic work would show as a far larger time at 4x the length.
    small, large = text[: len(text) // 32], text[: len(text) // 8]
    timings = []
    for sample in (small, large):
        start = time.perf_counter()
        scrub(sample)
        timings.append(time.perf_counter() - start)
    assert timings[1] < 10 * timings[0] + 0.05, timings


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail ada@example.com now", f"mail {REDACTED} now"),
        ('to "john doe"@example.com.', f"to {REDACTED}"),
        ("jörg@example.de failed", f"{REDACTED} failed"),
        ("info@bücher.de", REDACTED),
        ("<ada@example.co.uk>", f"<{REDACTED}>"),
        ("a@b and x@y.c stay", "a@b and x@y.c stay"),
        ("paid with tok_visa_1", f"paid with {REDACTED}"),
        ("no personal data", "no personal data"),
    ],
)
def test_addresses_and_tokens_are_masked(text: str, expected: str) -> None:
    assert scrub(text) == expected


def test_an_address_cut_by_the_bound_is_still_masked() -> None:
    text = "x" * (MAX_FIELD - 5) + " ada.lovelace@example.com"
    out = clean(text)
    assert "ada" not in out and "lovelace" not in out
    assert out.endswith("chars]")


def test_long_lists_and_mappings_are_summarised() -> None:
    out = redact_personal_data(None, "info", {"event": "x", "ids": list(range(10_000))})
    assert len(out["ids"]) == 51 and out["ids"][-1] == "... 9950 more"


@pytest.mark.parametrize("unit", ["a.", "a://", "a://b:", "@"])
def test_url_credentials_are_redacted_in_linear_time(unit: str) -> None:
    timings = []
    for repeat in (25_000, 100_000):
        text = unit * repeat
        start = time.perf_counter()
        redact_urls(text)
        timings.append(time.perf_counter() - start)
    assert timings[1] < 10 * timings[0] + 0.05, timings
    assert redact_urls("amqp://podium:s3cr@t@host/v") == "amqp://podium:******@host/v"


@pytest.mark.parametrize(
    "url", ["amqp://podium:s3cret@127.0.0.1:5679/podium", "amqp://podium:s3cr@t@localhost/v"]
)
def test_a_password_in_a_logged_url_is_masked(url: str) -> None:
    out = redact_personal_data(
        None, "info", {"event": f"cannot connect to {url}", "error": ConnectionError(url)}
    )
    assert "s3cr" not in str(out)
    assert "amqp://podium:******@" in out["event"] and "amqp://podium:******@" in out["error"]
