import re

from temporalio.client import Client
from temporalio.runtime import Runtime

from contracts.problems import one_line
from workers.runtime.codec import data_converter
from workers.runtime.settings import Settings
from workers.runtime.temporal_tracing import TracingWithoutQueries
from workers.runtime.tls import temporal_api_key, temporal_tls


class Unavailable(Exception):
    """A server Podium needs cannot be reached; the message says which and what to do."""


async def connect_temporal(settings: Settings, runtime: Runtime | None = None) -> Client:
    """A Temporal client that speaks pydantic, shared by every entry point."""
    try:
        return await Client.connect(
            settings.temporal_address,
            namespace=settings.temporal_namespace,
            data_converter=data_converter(settings),  # encrypts payloads when keys are set
            tls=temporal_tls(settings),
            api_key=temporal_api_key(settings),
            # On the client only: workers built from it inherit it, and a second one on the
            # worker would duplicate every span.
            interceptors=[TracingWithoutQueries()],
            runtime=runtime,
        )
    except RuntimeError as err:
        raise Unavailable(
            f"cannot reach Temporal at {settings.temporal_address} ({_reason(err)}); "
            "start the local stack with `podium dev up`"
        ) from None


def _reason(err: RuntimeError) -> str:
    """The core of the SDK's nested transport error (`... message: "Connection refused" })`)."""
    text = str(err)
    found = re.search(r'message: "([^"]{1,120})"', text)
    return found.group(1) if found else one_line(text, 200)
