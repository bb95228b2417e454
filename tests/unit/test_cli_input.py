"""`podium place` refuses bad input with exit code 2 and one line, before contacting any server."""

import json
import os
from pathlib import Path

import pytest

from podium.cli import main
from podium.cli.order_input import MAX_ORDER_BYTES
from tests.support.factories import order_data


@pytest.fixture(autouse=True)
def no_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    # Any attempt to reach Temporal would fail loudly on this unused port.
    monkeypatch.setenv("PODIUM_TEMPORAL_ADDRESS", "127.0.0.1:1")
    # Leave the test process's logging (pytest's capture) as it is.
    monkeypatch.setattr("workers.runtime.logging.configure_logging", lambda *a, **k: None)
    monkeypatch.setattr("workers.runtime.tracing.configure_tracing", lambda *a, **k: None)


def refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(["place", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("podium: ") and "\n" not in err and "Traceback" not in err
    return err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--item", "MUG-BLUE"], "SKU:QUANTITY:UNIT_PRICE"),
        (["--item", "MUG-BLUE:two:1.00"], "items.0.quantity"),
        (["--item", "MUG-BLUE:1:-5"], "items.0.unit_price"),
        (["--item", "MUG-BLUE:1:1.00", "--currency", "DOGE"], "currency"),
        (["--item", "MUG-BLUE:1:1.00", "--email", "nobody"], "email"),
        ([], "give at least one --item"),
    ],
)
def test_bad_flags_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    assert says in refused(capsys, *argv)


def test_malformed_json_file_names_the_position(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "order.json"
    bad.write_text('{"order_id": "a",\n "items": [}')
    assert "not valid JSON" in refused(capsys, "--file", str(bad))


def test_oversize_file_is_refused_unread(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    big = tmp_path / "order.json"
    big.write_text(json.dumps(order_data(note="x" * MAX_ORDER_BYTES)))
    assert "larger than 64 KiB" in refused(capsys, "--file", str(big))


def test_missing_file_and_non_object_json(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert "cannot read" in refused(capsys, "--file", str(tmp_path / "absent.json"))
    array = tmp_path / "array.json"
    array.write_text("[1, 2]")
    assert "must be a JSON object" in refused(capsys, "--file", str(array))


def test_json_prices_stay_exact(tmp_path: Path) -> None:
    from podium.cli.order_input import order_from_file

    path = tmp_path / "order.json"
    data = order_data(items=[{"sku": "MUG-BLUE", "quantity": 3, "unit_price": 0.1}])
    path.write_text(json.dumps(data))
    assert str(order_from_file(str(path)).total) == "0.30"


def test_unreachable_temporal_is_one_line_exit_3(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["place", "--item", "MUG-BLUE:1:1.00"]) == 3
    err = capsys.readouterr().err.strip()
    assert "cannot reach Temporal at 127.0.0.1:1" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["status", "\udcff"],
        ["cancel", "a\nb"],
        ["loyalty", "x" * 100_000],
        ["trace", ""],
        ["place", "--bogus"],
        ["dlq"],
    ],
)
def test_usage_errors_and_bad_ids_are_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("podium: ") and err.count("\n") == 1 and len(err) < 400


def test_non_utf8_standard_input_is_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    binary = tmp_path / "stdin"
    binary.write_bytes(b'{"order_id": "\xff"}')
    # Standard input is read from a duplicate of fd 0: hand it this file instead.
    monkeypatch.setattr("os.dup", lambda fd: os.open(binary, os.O_RDONLY))
    assert "standard input is not UTF-8 text" in refused(capsys, "--file", "-")


def test_a_number_of_thousands_of_digits_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "order.json"
    path.write_text('{"order_id": 1' + "0" * 5000 + "}")
    assert "a number is too long" in refused(capsys, "--file", str(path))
