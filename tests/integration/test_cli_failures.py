"""Every `podium` command, run as a real process, fails with one line and its exit code.

Servers down, credentials refused, payloads encrypted with an unknown key, hostile files and
standard input, a second worker or consumer process on the same machine, Ctrl-C while waiting:
no traceback ever reaches the terminal.
"""

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from pydantic import SecretStr

from infra.stack import StackInfo
from infra.stack.ports import free_port
from podium.client import place_order
from tests.security.keys import KEY_1, KEY_2
from tests.support.factories import an_order
from workers.bootstrap import running_worker
from workers.runtime.settings import Settings
from workers.runtime.temporal import connect_temporal

pytestmark = pytest.mark.integration
PODIUM = str(Path(sys.executable).parent / "podium")


def environment(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env.update(
        PODIUM_TEMPORAL_ADDRESS=settings.temporal_address,
        PODIUM_TEMPORAL_NAMESPACE=settings.temporal_namespace,
        PODIUM_AMQP_URL=settings.amqp_url,
        PODIUM_DATA_DIR=str(settings.data_dir),
        PODIUM_TASK_QUEUE=settings.task_queue,
        PODIUM_EXCHANGE=settings.exchange,
        PODIUM_METRICS_PORT="0",
        PODIUM_CONSUMER_METRICS_PORT="0",
    )
    env.update(extra)
    return env


def podium(
    settings: Settings, *args: str, stdin: object = subprocess.DEVNULL, **extra: str
) -> tuple[int, str, str]:
    done = subprocess.run(
        [PODIUM, *args],
        env=environment(settings, **extra),
        cwd=settings.data_dir.parent,  # no .env or .podium/stack.env of the repository
        stdin=stdin,  # type: ignore[arg-type]
        capture_output=True,
        timeout=60,
    )
    return (
        done.returncode,
        done.stdout.decode(errors="replace"),
        done.stderr.decode(errors="replace"),
    )


def one_line(err: str, out: str = "") -> str:
    assert "Traceback" not in err + out
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("podium: ")
    return lines[0]


BROKER_COMMANDS = [["consumers"], ["dlq", "list", "notifications"], ["dlq", "replay", "loyalty"]]


@pytest.mark.parametrize("command", BROKER_COMMANDS, ids=" ".join)
def test_an_unreachable_broker_is_one_line_exit_3(settings: Settings, command: list[str]) -> None:
    url = f"amqp://podium:secret@127.0.0.1:{free_port()}/podium"
    code, out, err = podium(settings, *command, PODIUM_AMQP_URL=url)
    assert code == 3
    line = one_line(err, out)
    assert "cannot reach RabbitMQ at 127.0.0.1" in line and "secret" not in line


@pytest.mark.parametrize("command", BROKER_COMMANDS, ids=" ".join)
def test_refused_broker_credentials_are_one_line_exit_3(
    settings: Settings, stack_info: StackInfo, command: list[str]
) -> None:
    parts = urlsplit(stack_info.amqp_url)
    wrong = parts._replace(netloc=f"{parts.username}:wrong-password@{parts.hostname}:{parts.port}")
    wrong = urlunsplit(wrong)
    code, out, err = podium(settings, *command, PODIUM_AMQP_URL=wrong)
    assert code == 3
    line = one_line(err, out)
    assert "refused" in line and "wrong-password" not in line


@pytest.mark.parametrize(
    "command",
    [["status", "x"], ["cancel", "x"], ["worker"], ["place", "--item", "MUG-BLUE:1:1.00"]],
    ids=" ".join,
)
def test_an_unreachable_temporal_is_one_line_exit_3(settings: Settings, command: list[str]) -> None:
    code, out, err = podium(settings, *command, PODIUM_TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}")
    assert code == 3
    assert "cannot reach Temporal" in one_line(err, out)


async def test_a_payload_encrypted_with_a_key_this_process_lacks_is_one_line(
    settings: Settings, event_tap: object
) -> None:
    with_key_1 = settings.model_copy(update={"encryption_keys": SecretStr(f"k1:{KEY_1}")})
    client = await connect_temporal(with_key_1)
    order = an_order(payment_token="tok_declined")
    async with running_worker(client, with_key_1):
        await place_order(client, order, with_key_1.task_queue, wait="outcome")
        # A worker with key k1 answers the query, in ciphertext this process cannot read.
        code, out, err = await asyncio.to_thread(
            podium, settings, "status", order.order_id, PODIUM_ENCRYPTION_KEYS=f"k2:{KEY_2}"
        )
    assert code == 2
    assert "unknown key id 'k1'" in one_line(err, out)
    code, out, err = podium(
        settings, "status", order.order_id, PODIUM_ENCRYPTION_KEYS=f"k2:{KEY_2}"
    )
    assert code == 2
    assert "unknown key id 'k1'" in one_line(err, out)


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "order.fifo"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize(
    ("file", "says"),
    [
        ("/dev/zero", "larger than 64 KiB"),
        ("/dev/urandom", "larger than 64 KiB"),
        ("/dev/null", "is empty"),
        ("FOLDER", "is a directory"),
        ("FIFO", "nothing complete arrived from"),
        ("BINARY", "is not UTF-8 text"),
    ],
)
def test_hostile_files_are_read_boundedly_and_refused_in_one_line(
    settings: Settings, fifo: Path, tmp_path: Path, file: str, says: str
) -> None:
    binary = tmp_path / "order.json"
    binary.write_bytes(b'{"order_id": "\xff\xfe"}')
    path = {"FOLDER": str(tmp_path), "FIFO": str(fifo), "BINARY": str(binary)}.get(file, file)
    started = time.monotonic()
    code, out, err = podium(settings, "place", "--file", path)
    assert code == 2
    assert says in one_line(err, out)
    assert time.monotonic() - started < 30


def test_non_utf8_standard_input_is_refused_in_one_line(settings: Settings) -> None:
    done = subprocess.run(
        [PODIUM, "place", "--file", "-"],
        input=b'{"order_id": "\xc3\x28"}',
        env=environment(settings),
        cwd=settings.data_dir.parent,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "standard input is not UTF-8 text" in one_line(done.stderr.decode(errors="replace"))


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.mark.parametrize(
    ("command", "port_variable"),
    [(["worker"], "PODIUM_METRICS_PORT"), (["consumers"], "PODIUM_CONSUMER_METRICS_PORT")],
    ids=["worker", "consumers"],
)
def test_a_second_process_on_the_same_machine_starts_without_metrics(
    settings: Settings,
    processes: list[subprocess.Popen[bytes]],
    command: list[str],
    port_variable: str,
) -> None:
    env = environment(settings, PODIUM_LOG_FORMAT="json", **{port_variable: str(free_port())})
    for _ in range(2):
        processes.append(
            subprocess.Popen(
                [PODIUM, *command],
                env=env,
                cwd=settings.data_dir.parent,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        )
        time.sleep(4)
    assert all(p.poll() is None for p in processes), "a process exited"
    for process in processes:
        process.send_signal(signal.SIGTERM)
    logs = [process.communicate(timeout=30)[1].decode() for process in processes]
    assert all(p.returncode == 0 for p in processes), logs
    assert "metrics disabled" not in logs[0] and "metrics disabled" in logs[1]
    assert "Traceback" not in logs[0] + logs[1]


def test_ctrl_c_while_placing_says_the_order_carries_on(settings: Settings) -> None:
    # Nobody polls this queue: `place` waits for an outcome that cannot come yet.
    env = environment(settings, PODIUM_TASK_QUEUE=f"{settings.task_queue}-idle")
    process = subprocess.Popen(
        [PODIUM, "place", "--item", "MUG-BLUE:1:1.00", "--order-id", "ctrl-c-1"],
        env=env,
        cwd=settings.data_dir.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    warning = process.stderr.readline().decode()  # printed once the order is submitted
    assert "no worker is polling" in warning
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130
    said = err.decode()
    assert "Traceback" not in said + out.decode()
    assert "order ctrl-c-1 carries on in Temporal" in said
    assert "podium status ctrl-c-1" in said and "/workflows/order-ctrl-c-1" in said
