"""`podium bench`'s flags are bounded: a value out of range is refused before anything runs."""

import argparse

import pytest

from podium.cli.bench import add_arguments


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(exit_on_error=False)
    add_arguments(p)
    return p


def test_the_flags_take_values_in_range() -> None:
    args = parser().parse_args(["--gap-ms", "0", "--rate", "2.5", "--concurrency", "8"])
    assert (args.gap_ms, args.rate, args.concurrency, args.orders) == (0.0, 2.5, 8, None)


@pytest.mark.parametrize(
    "flags",
    [
        ["--rate", "0"],
        ["--rate", "nan"],
        ["--rate", "1e9"],
        ["--gap-ms", "-1"],
        ["--gap-ms", "inf"],
        ["--concurrency", "0"],
        ["--concurrency", "1000000"],
        ["--orders", "1.5"],
    ],
)
def test_a_value_out_of_range_is_refused(flags: list[str]) -> None:
    with pytest.raises(argparse.ArgumentError):
        parser().parse_args(flags)
