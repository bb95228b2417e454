"""The consume loop touches no SQLite while it is built: its store opens on first use, in the
handler's thread, never on the event loop."""

from pathlib import Path

from consumers.loyalty import CONSUMER as LOYALTY
from consumers.runtime.loop import ConsumerLoop
from consumers.runtime.options import RuntimeOptions


async def test_building_a_consumer_loop_opens_no_database(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    loop = ConsumerLoop(LOYALTY, RuntimeOptions(amqp_url="amqp://unused/", data_dir=data_dir))

    assert loop.store.location == data_dir / "consumer-loyalty.db"
    assert not data_dir.exists()
