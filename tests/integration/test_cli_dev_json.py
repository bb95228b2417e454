"""`podium dev status --json`: the running test stack's services and addresses as JSON."""

import json

import pytest

from infra.stack import LocalStack
from podium.cli.dev import status_json

pytestmark = pytest.mark.integration


def test_dev_status_json_names_each_service_and_the_addresses(stack: LocalStack) -> None:
    status = stack.status()
    document = json.loads(json.dumps(status_json(status)))
    assert document["running"] is True
    names = {svc["name"]: svc for svc in document["services"]}
    assert {"temporal", "rabbitmq", "mail"} <= set(names)
    assert all(svc["running"] and svc["pid"] for svc in names.values())
    assert status.info is not None
    assert document["temporal_address"] == status.info.temporal_address
    assert document["amqp_url"] == status.info.amqp_url
    assert set(document) == {
        "running",
        "services",
        "temporal_ui_url",
        "temporal_address",
        "amqp_url",
        "amqps_url",
        "management_url",
        "management_user",
        "management_password",
        "smtp_port",
        "mail_dir",
        "database_url",
    }
