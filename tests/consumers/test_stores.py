"""The consumers' stores on SQLite and on PostgreSQL: each event's effect once, in the
transaction that marks it processed, also when two consumer processes race on one event."""

import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from adapters.sql import Abandon, Transaction
from consumers import analytics, loyalty, notifications
from consumers.mailer import MailOptions
from consumers.runtime.store import Change, Store
from tests.support.consumers import completed, failed
from tests.support.databases import Places, postgres_places


def test_a_batch_applies_each_consumers_effects_once(places: Places) -> None:
    mail = notifications.consumer(MailOptions())
    events = [completed(order_id=f"o-{i}") for i in range(5)] + [failed(order_id="o-9")]
    for consumer in (analytics.CONSUMER, loyalty.CONSUMER, mail):
        with closing(Store(places(consumer.name), consumer.schema)) as store:
            changes = [
                Change(e.event_id, e.ROUTING_KEY, lambda tx, e=e, c=consumer: c.handle(e, tx))
                for e in events
                if type(e) in consumer.events
            ]
            # The same event twice in one batch, and the whole batch again: applied once.
            assert store.apply_batch([*changes, changes[0]]) == [True] * len(changes) + [False]
            assert store.apply_batch(changes) == [False] * len(changes)
            assert store.processed_count() == len(changes)
            if consumer is analytics.CONSUMER:
                report = analytics.report(store)
                assert report.outcomes == {"completed": 5, "failed": 1}
                assert report.revenue("EUR") == 5 * events[0].order.total
            elif consumer is loyalty.CONSUMER:
                assert loyalty.credits_total(store) == (5, 5 * 34)
            else:
                sent = notifications.outbox(store)
                assert [e.event_id for e in sent] == [e.event_id for e in events]
                raw = store.read(lambda tx: tx.execute("SELECT raw FROM outbox").fetchone()[0])
                assert bytes(raw).startswith(b"Message-ID:") or b"Message-ID" in bytes(raw)


def test_consumer_processes_racing_on_the_same_events_apply_each_once(places: Places) -> None:
    """Two stores on one database (two `podium consumers` processes after a redelivery)."""
    events = [completed(order_id=f"o-{i}", customer_id="c-1") for i in range(30)]
    stores = [Store(places("loyalty"), loyalty.CONSUMER.schema) for _ in range(2)]

    def apply(args: tuple[int, int]) -> bool:
        which, i = args
        event = events[i]
        return stores[which].apply(
            event.event_id, event.ROUTING_KEY, lambda tx: loyalty.handle(event, tx)
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        applied = list(pool.map(apply, [(w, i) for i in range(30) for w in (0, 1)]))
    assert sum(applied) == 30
    assert loyalty.points(stores[0], "c-1") == 30 * 34
    for store in stores:
        store.close()


def test_analytics_from_two_processes_adds_up_the_same_hour(places: Places) -> None:
    events = [completed(order_id=f"o-{i}") for i in range(20)]
    stores = [Store(places("analytics"), analytics.SCHEMA) for _ in range(2)]

    def apply(i: int) -> bool:
        event = events[i]
        return stores[i % 2].apply(
            event.event_id, event.ROUTING_KEY, lambda tx: analytics.handle(event, tx)
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(apply, range(20)))
    report = analytics.report(stores[0])
    assert report.units("MUG-BLUE") == 20 * events[0].order.items[0].quantity
    assert report.revenue("EUR") == sum((e.order.total for e in events), Decimal(0))
    for store in stores:
        store.close()


def test_an_abandoned_handler_frees_the_store_and_commits_nothing(places: Places) -> None:
    """SQLite closes the connection (its write lock freed at once), PostgreSQL ends the
    server process: either way the stuck handler's writes are gone and others go on."""
    location = places("s")
    store = Store(location, "CREATE TABLE IF NOT EXISTS t (v TEXT)")
    # SQLite: the connection is closed under it; PostgreSQL: its server process was ended.
    ended = sqlite3.ProgrammingError if isinstance(location, Path) else psycopg.OperationalError
    inside, release = threading.Event(), threading.Event()
    outcome: list[BaseException | bool] = []

    def stuck(tx: Transaction) -> None:
        tx.execute("INSERT INTO t VALUES ('stuck')")
        inside.set()
        release.wait(10)
        tx.execute("INSERT INTO t VALUES ('late')")

    def run() -> None:
        try:
            outcome.append(store.apply("e1", "k", stuck, abandon))
        except BaseException as err:
            outcome.append(err)

    abandon = Abandon()
    thread = threading.Thread(target=run)
    thread.start()
    assert inside.wait(5)
    abandon.abandon()
    start = time.monotonic()
    assert store.apply("e2", "k", lambda tx: tx.execute("INSERT INTO t VALUES ('next')"))
    assert time.monotonic() - start < 1  # the lock was released at once; others go on
    release.set()
    thread.join(5)
    assert isinstance(outcome[0], ended)
    assert store.read(lambda c: [r[0] for r in c.execute("SELECT v FROM t").fetchall()]) == ["next"]
    assert store.apply("e1", "k", lambda tx: None)  # not marked processed: a retry applies it
    store.close()


def test_an_abandoned_transaction_frees_its_locks_at_once(postgres_url: str) -> None:
    """A handler stuck while holding an event's lock: the event handled again alone (as the
    batcher does after abandoning a batch) need not wait for the stuck thread."""
    store = Store(postgres_places(postgres_url)("s"), "CREATE TABLE t (v TEXT)")
    inside, release = threading.Event(), threading.Event()
    abandon = Abandon()

    outcome: list[BaseException | bool] = []

    def stuck(tx: Transaction) -> None:
        inside.set()
        release.wait(10)

    def run() -> None:
        try:
            outcome.append(store.apply("e1", "k", stuck, abandon))
        except BaseException as err:
            outcome.append(err)

    thread = threading.Thread(target=run)
    thread.start()
    assert inside.wait(5)
    abandon.abandon()
    start = time.monotonic()
    assert store.apply("e1", "k", lambda tx: tx.execute("INSERT INTO t VALUES ('again')"))
    assert time.monotonic() - start < 1
    release.set()
    thread.join(5)
    assert isinstance(outcome[0], psycopg.OperationalError)  # ended: nothing committed
    assert store.processed_count() == 1
    store.close()


def test_a_statement_running_when_abandoned_is_stopped(postgres_url: str) -> None:
    store = Store(postgres_places(postgres_url)("s"), "CREATE TABLE t (v TEXT)")
    abandon = Abandon()
    timer = threading.Timer(0.5, abandon.abandon)
    timer.start()
    start = time.monotonic()
    with pytest.raises(psycopg.OperationalError):
        store.apply("e1", "k", lambda tx: tx.execute("SELECT pg_sleep(30)"), abandon)
    assert time.monotonic() - start < 5
    assert store.processed_count() == 0
    store.close()


def test_a_consumer_store_moves_to_its_next_version_keeping_its_data(places: Places) -> None:
    v1 = "CREATE TABLE seen (event_id TEXT PRIMARY KEY)"
    with closing(Store(places("c"), v1)) as store:
        assert store.apply("e1", "k", lambda tx: tx.execute("INSERT INTO seen VALUES ('e1')"))
    v2 = "ALTER TABLE seen ADD COLUMN amount {money}"
    with closing(Store(places("c"), (v1, v2))) as store:
        assert store.apply(
            "e2", "k", lambda tx: tx.execute("INSERT INTO seen VALUES ('e2', '9.99')")
        )
        assert not store.apply("e1", "k", lambda tx: None)  # still known as processed
        rows = store.read(
            lambda tx: tx.execute("SELECT event_id, amount FROM seen ORDER BY event_id").fetchall()
        )
        assert [(r[0], None if r[1] is None else str(r[1])) for r in rows] == [
            ("e1", None),
            ("e2", "9.99"),
        ]
