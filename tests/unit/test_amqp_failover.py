"""PODIUM_AMQP_URL as a list of broker addresses, and the order a FailoverConnection tries them
in (pure units; the failover against real brokers is in tests/consumers/test_failover.py and
tests/faults/test_cluster_failover.py)."""

import pytest
from aio_pika.connection import make_url
from pydantic import ValidationError

from adapters.amqp_urls import MAX_URLS, amqp_urls
from adapters.rabbitmq import FailoverConnection
from contracts.problems import describe
from workers.runtime.settings import Settings

SECRET = "s3cret-pw"
ONE = f"amqp://podium:{SECRET}@localhost:5679/podium"
THREE = [f"amqp://podium:{SECRET}@localhost:{port}/podium" for port in (5679, 5680, 5681)]


def test_one_url_is_one_address() -> None:
    assert amqp_urls(ONE) == [ONE]
    assert Settings(_env_file=None, amqp_url=ONE).amqp_url == ONE  # type: ignore[call-arg]


def test_several_urls_separated_by_commas_keep_their_order() -> None:
    assert amqp_urls(" , ".join(THREE)) == THREE


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (f"{ONE},", "address 2 of 2 must be an amqp:// or amqps:// URL"),
        (f"http://podium:{SECRET}@localhost/", "the address must be an amqp:// or amqps://"),
        (f"amqp://podium:{SECRET}@/podium", "must be an amqp:// or amqps:// URL with a host"),
        (f"amqp://podium:{SECRET}@localhost:99999/podium", "the address is not a valid URL"),
        (f"{ONE},amqps://podium:{SECRET}@localhost:5671/", "mix amqp:// and amqps://"),
        (",".join([ONE] * (MAX_URLS + 1)), f"at most {MAX_URLS} broker addresses"),
    ],
)
def test_bad_addresses_are_refused_without_quoting_them(value: str, problem: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None, amqp_url=value)  # type: ignore[call-arg]
    line = describe(caught.value, "settings")
    assert problem in line and SECRET not in line


async def test_each_attempt_starts_after_the_address_used_last() -> None:
    connection = FailoverConnection([make_url(url) for url in THREE])
    ports = [connection.next_url().port for _ in range(5)]
    assert ports == [5679, 5680, 5681, 5679, 5680]
    await connection.close()


async def test_a_failed_address_hands_over_to_the_next_within_one_attempt() -> None:
    """Two addresses refuse (nothing listens on port 1 and 2): the attempt tries all three,
    then fails with the last error, so aio-pika's loop waits before the next round."""
    urls = ["amqp://u:p@127.0.0.1:1/", "amqp://u:p@127.0.0.1:2/", "amqp://u:p@127.0.0.1:3/"]
    connection = FailoverConnection([make_url(url) for url in urls])
    tried: list[int | None] = []
    real_next = connection.next_url

    def spy() -> object:
        url = real_next()
        tried.append(url.port)
        return url

    connection.next_url = spy  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        await connection.connect(timeout=2)
    assert tried == [1, 2, 3]
    await connection.close()
