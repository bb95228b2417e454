"""The local stack: a Temporal dev server, a private RabbitMQ node, a debugging SMTP server and,
when asked for, a private PostgreSQL cluster, run as detached processes under one home folder
(`podium dev up|down|status`, the tests)."""

from infra.stack.config import StackConfig
from infra.stack.errors import StackError
from infra.stack.local import LocalStack
from infra.stack.rabbitmq_install import ensure_rabbitmq_installed, rabbitmq_scripts_dir
from infra.stack.status import ServiceStatus, StackInfo, StackStatus

__all__ = [
    "LocalStack",
    "ServiceStatus",
    "StackConfig",
    "StackError",
    "StackInfo",
    "StackStatus",
    "ensure_rabbitmq_installed",
    "rabbitmq_scripts_dir",
]
