"""The definitions a RabbitMQ container imports on its first boot: the exported topology
(infra/rabbitmq/definitions.json) plus the application's user.

A blank node that imports definitions at boot creates no default user, and the exported file
holds no credentials (it is in the repository). So `docker-compose.yml` runs this once before
the broker starts: `python -m infra.rabbitmq_seed EXPORTED TARGET`, with the user's name and
password in RABBITMQ_APP_USER and RABBITMQ_APP_PASSWORD. TARGET is written private; only the
password's salted hash goes into it, as RabbitMQ's own definitions export does.
"""

import base64
import hashlib
import json
import os
import secrets
import sys
from pathlib import Path
from typing import Any

from infra.stack.processes import write_private

# RabbitMQ's default password hashing: base64(salt ‖ sha256(salt ‖ password)), 4-byte salt.
HASHING_ALGORITHM = "rabbit_password_hashing_sha256"
# The management tag lets the user read its own vhost in the management UI and HTTP API
# (queue depths); it cannot administer the broker.
APP_USER_TAGS = ["management"]
MAX_DEFINITIONS_BYTES = 1_000_000


def password_hash(password: str, salt: bytes | None = None) -> str:
    salt = secrets.token_bytes(4) if salt is None else salt
    digest = hashlib.sha256(salt + password.encode()).digest()
    return base64.b64encode(salt + digest).decode()


def seeded(exported: dict[str, Any], user: str, password: str) -> dict[str, Any]:
    """The exported definitions with `user` added, granted everything in each of their vhosts."""
    vhosts = [v["name"] for v in exported.get("vhosts", [])]
    return {
        **exported,
        "users": [
            {
                "name": user,
                "password_hash": password_hash(password),
                "hashing_algorithm": HASHING_ALGORITHM,
                "tags": APP_USER_TAGS,
            }
        ],
        "permissions": [
            {"user": user, "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"}
            for vhost in vhosts
        ],
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m infra.rabbitmq_seed EXPORTED TARGET", file=sys.stderr)
        return 2
    user = os.environ.get("RABBITMQ_APP_USER", "podium")
    password = os.environ.get("RABBITMQ_APP_PASSWORD", "")
    if not user or not password:
        print("RABBITMQ_APP_USER and RABBITMQ_APP_PASSWORD must not be empty", file=sys.stderr)
        return 2
    source, target = Path(argv[0]), Path(argv[1])
    try:
        with source.open("rb") as f:
            text = f.read(MAX_DEFINITIONS_BYTES + 1)
        if len(text) > MAX_DEFINITIONS_BYTES:
            raise ValueError(f"larger than {MAX_DEFINITIONS_BYTES} bytes")
        exported = json.loads(text)
        write_private(target, json.dumps(seeded(exported, user, password), indent=2) + "\n")
    except (OSError, ValueError) as err:
        print(f"cannot seed {target} from {source}: {err}", file=sys.stderr)
        return 1
    print(f"wrote {target} for user {user}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
