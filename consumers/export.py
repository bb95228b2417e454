"""Writes the topology as RabbitMQ definitions: `python -m consumers.export [PATH]`.

The file is generated from the code (a test keeps them equal), for brokers provisioned by
`load_definitions` before any Podium process starts.
"""

import json
import sys
from pathlib import Path

from consumers.registry import all_consumers
from consumers.runtime.options import TopologyOptions
from consumers.runtime.topology import definitions, topology_for

DEFINITIONS_FILE = Path("infra/rabbitmq/definitions.json")


def definitions_json(options: TopologyOptions | None = None) -> str:
    topology = topology_for(all_consumers(), options or TopologyOptions())
    return json.dumps(definitions(topology), indent=2) + "\n"


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFINITIONS_FILE
    target.write_text(definitions_json())
    print(f"wrote {target}")
