"""`podium dev up --rabbit-nodes N` takes 1 to 5 nodes and refuses anything else in one line,
exit 2, before starting any server; a bad PODIUM_AMQP_URL list, or one whose brokers all refuse,
is one line too."""

from pathlib import Path

import pytest

from infra.stack.ports import free_port
from podium.cli import main


@pytest.fixture(autouse=True)
def quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("workers.runtime.logging.configure_logging", lambda *a, **k: None)


@pytest.mark.parametrize("value", ["0", "6", "-1", "three", "\u0661", "9" * 400, ""])
def test_a_node_count_outside_one_to_five_is_refused(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["dev", "up", "--rabbit-nodes", value])
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "a whole number from 1 to 5" in err[-1] and "Traceback" not in "".join(err)


def test_a_bad_address_in_the_list_is_one_line_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    good = "amqp://podium:s3cret@localhost:5679/podium"
    monkeypatch.setenv("PODIUM_AMQP_URL", f"{good},http://podium:s3cret@localhost/")
    assert main(["dev", "status"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("podium: invalid settings") and "\n" not in err
    assert "address 2 of 2" in err and "s3cret" not in err


def test_a_cluster_none_of_whose_nodes_answers_is_one_line_exit_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ports = [free_port(), free_port()]
    urls = [f"amqp://podium:s3cret@127.0.0.1:{port}/podium" for port in ports]
    monkeypatch.setenv("PODIUM_AMQP_URL", ",".join(urls))
    monkeypatch.setenv("PODIUM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PODIUM_PUBLISH_TIMEOUT_SECONDS", "2")
    assert main(["consumers", "--status"]) == 3
    err = capsys.readouterr().err.strip()
    nodes = ", ".join(f"127.0.0.1:{port}" for port in ports)
    assert err.startswith(f"podium: cannot reach RabbitMQ at any of {nodes} (") and "\n" not in err
    assert "s3cret" not in err
