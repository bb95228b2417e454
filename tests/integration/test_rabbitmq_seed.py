"""The definitions docker-compose.yml seeds its broker with (infra/rabbitmq_seed.py) import into a
real RabbitMQ, and the user they carry connects with its password and uses the topology.

Imported here through the management HTTP API (the same definitions import as at boot), into a
vhost of its own so the shared broker's topology is untouched."""

import asyncio
import json
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import aio_pika
import pytest

from consumers.export import DEFINITIONS_FILE
from infra.rabbitmq_seed import password_hash
from infra.stack import StackInfo
from tests.support.management import Management

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_the_hash_is_rabbitmqs_salted_sha256() -> None:
    # base64(salt ‖ sha256(salt ‖ password)): the value RabbitMQ's own export writes for a
    # user whose password is "test12" with this salt (rabbitmq.com, passwords guide).
    assert password_hash("test12", bytes.fromhex("908dc60a")) == (
        "kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR"
    )


def _in_vhost(vhost: str) -> dict[str, object]:
    text = (ROOT / DEFINITIONS_FILE).read_text().replace('"vhost": "podium"', f'"vhost": "{vhost}"')
    exported = json.loads(text)
    exported["vhosts"] = [{"name": vhost}]
    return exported  # type: ignore[no-any-return]


async def test_the_seeded_user_connects_and_finds_the_topology(
    stack_info: StackInfo, management: Management, tmp_path: Path
) -> None:
    vhost = f"seed-{uuid.uuid4().hex[:8]}"
    user, password = f"app-{uuid.uuid4().hex[:8]}", "s3cret-Ünïcode/+="
    exported = tmp_path / "exported.json"
    exported.write_text(json.dumps(_in_vhost(vhost)))
    target = tmp_path / "seed" / "definitions.json"
    seed = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "infra.rabbitmq_seed",
        str(exported),
        str(target),
        env={"RABBITMQ_APP_USER": user, "RABBITMQ_APP_PASSWORD": password},
        cwd=ROOT,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await seed.communicate()
    assert seed.returncode == 0, stderr
    assert target.stat().st_mode & 0o077 == 0
    assert password not in target.read_text()

    await management.call("POST", "/definitions", json.loads(target.read_text()))
    try:
        parts = urlsplit(stack_info.amqp_url)
        netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{parts.hostname}:{parts.port}"
        url = urlunsplit((parts.scheme, netloc, "/" + quote(vhost, safe=""), "", ""))
        connection = await aio_pika.connect(url, timeout=10)
        async with connection:
            channel = await connection.channel()
            # A passive declare: refused unless the imported queue exists in the user's vhost.
            await channel.get_queue("podium.notifications", ensure=True)
        seeded = await management.call("GET", f"/users/{quote(user, safe='')}")
        assert seeded["tags"] in (["management"], "management")  # a list from 3.9 on
    finally:
        await management.call("DELETE", f"/vhosts/{quote(vhost, safe='')}")
        await management.call("DELETE", f"/users/{quote(user, safe='')}")


def test_an_empty_password_is_refused_in_one_line(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "infra.rabbitmq_seed", str(ROOT / DEFINITIONS_FILE), "x.json"],
        env={"RABBITMQ_APP_PASSWORD": ""},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (run.returncode, run.stderr.count("\n")) == (2, 1)
    assert not (tmp_path / "x.json").exists()
