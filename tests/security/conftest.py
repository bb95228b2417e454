"""The integration session's stack, shared with tests/integration (one stack per session)."""

from tests.integration.conftest import (  # noqa: F401
    amqp_channel,
    event_tap,
    settings,
    stack,
    stack_info,
    temporal,
)
