from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from workers.runtime.settings import Settings


class Unavailable(Exception):
    """A server Podium needs cannot be reached; the message says which and what to do."""


async def connect_temporal(settings: Settings) -> Client:
    """A Temporal client that speaks pydantic, shared by every entry point."""
    try:
        return await Client.connect(
            settings.temporal_address,
            namespace=settings.temporal_namespace,
            data_converter=pydantic_data_converter,
        )
    except RuntimeError as err:
        raise Unavailable(
            f"cannot reach Temporal at {settings.temporal_address} ({err}); "
            "start the local stack with `podium dev up`"
        ) from None
