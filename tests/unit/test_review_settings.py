"""PODIUM_REVIEW_ABOVE and PODIUM_REVIEW_TIMEOUT: read as a person writes them, bounded."""

from datetime import timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from workers.runtime.settings import Settings


@pytest.mark.parametrize(
    ("written", "window"),
    [("3600", timedelta(hours=1)), ("PT2H", timedelta(hours=2)), ("90.5", timedelta(seconds=90.5))],
)
def test_the_review_window_is_seconds_or_iso_8601(
    written: str, window: timedelta, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PODIUM_REVIEW_TIMEOUT", written)
    assert Settings(_env_file=None).review_timeout == window  # type: ignore[call-arg]


@pytest.mark.parametrize("written", ["0", "-5", "P400D", "soon"])
def test_a_review_window_that_is_not_a_positive_bounded_time_is_refused(
    written: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PODIUM_REVIEW_TIMEOUT", written)
    with pytest.raises(ValidationError, match="review_timeout"):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_the_review_threshold_is_a_decimal_and_never_negative(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PODIUM_REVIEW_ABOVE", "250.50")
    assert Settings(_env_file=None).review_above == Decimal("250.50")  # type: ignore[call-arg]
    monkeypatch.setenv("PODIUM_REVIEW_ABOVE", "-1")
    with pytest.raises(ValidationError, match="review_above"):
        Settings(_env_file=None)  # type: ignore[call-arg]
    monkeypatch.setenv("PODIUM_REVIEW_ABOVE", "NaN")
    with pytest.raises(ValidationError, match="review_above"):
        Settings(_env_file=None)  # type: ignore[call-arg]
