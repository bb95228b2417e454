"""`podium demo` on the real stack: its worker and consumers come from workers/bootstrap.py."""

import pytest

from infra.stack import StackInfo
from podium.cli.demo import run_demo
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration


async def test_the_demo_places_its_sample_orders_and_shows_each_side_effect(
    settings: Settings, stack_info: StackInfo, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": stack_info.smtp_port,
            "mail_dir": stack_info.mail_dir,
            "exchange": f"demo-{settings.task_queue}",
            "consumer_queue_prefix": f"demo-{settings.task_queue}",
        }
    )
    assert await run_demo(demo) == 0
    out = capsys.readouterr().out
    for outcome in ("happy path", "declined card", "out of stock", "cancelled by customer"):
        assert outcome in out
    assert out.count("COMPLETED") >= 4 and "CANCELLED" in out
    assert "notifications: 7 sent, 0 pending" in out
    # The reviewed order: answered while it waits, approved as `podium review approve` does.
    [reviewed] = [line for line in out.splitlines() if "large, approved in review" in line]
    assert "in review" in reviewed and "COMPLETED" in reviewed
    assert "awaiting manual review" in out and "approved by demo-reviewer" in out
