"""Scale-out on PostgreSQL: two `ccaas-emulator worker` processes share 5,000 deliveries; one is killed
with SIGKILL midway; every delivery still ends terminal and none is dialled twice (issue #4)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from ccaas_emulator.db.engine import make_engine
from ccaas_emulator.db.models import DeliveryEvent, ProactiveDelivery
from ccaas_emulator.db.transaction import Database
from ccaas_emulator.runtime import prepare_database
from ccaas_emulator.settings import Settings
from tests.support.bulk import insert_deliveries
from tests.support.postgres import create_postgres_database

pytestmark = pytest.mark.slow  # two worker processes dial 5,000 deliveries

TERMINAL = ("Complete", "Expired", "Error", "Cancelled")
COUNT = 5000


def diallers(database: Database) -> set[str]:
    with database.read() as session:
        return set(
            session.scalars(select(DeliveryEvent.actor).where(DeliveryEvent.to_status == "InProcess").distinct())
        )


def counts(database: Database) -> dict[str, int]:
    with database.read() as session:
        return dict(
            session.execute(select(ProactiveDelivery.status, func.count()).group_by(ProactiveDelivery.status)).all()
        )


@pytest.mark.postgres
def test_two_workers_share_the_work_and_survive_a_sigkill(postgres_admin_url, tmp_path):
    url, drop = create_postgres_database(postgres_admin_url)
    env = {key: value for key, value in os.environ.items() if not key.startswith("CCAAS_")} | {
        "CCAAS_DATABASE_URL": url, "CCAAS_CLOCK_SPEED": "600", "CCAAS_DIALER_LEASE_SECONDS": "2",
        "CCAAS_DIALER_POLL_SECONDS": "0.05", "CCAAS_LOG_LEVEL": "info", "CCAAS_OUTCOME_SEED": "4",
    }  # fmt: skip
    prepare_database(Settings(database_url=url, clock_speed=600))
    database = Database(make_engine(url, pool_size=2))
    workers: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(2):
            log = (tmp_path / f"worker{len(workers)}.log").open("wb")
            workers.append(subprocess.Popen([sys.executable, "-m", "ccaas_emulator", "worker"], env=env,
                                            stdout=log, stderr=subprocess.STDOUT))  # fmt: skip
        # The work appears only once both workers run: a worker that starts late on a busy machine would
        # otherwise find every delivery already dialled by the other.
        deadline = time.monotonic() + 120
        logs = [tmp_path / f"worker{number}.log" for number in range(2)]
        while not all("started" in log.read_text() for log in logs):
            assert time.monotonic() < deadline, [log.read_text() for log in logs]
            assert all(worker.poll() is None for worker in workers), [log.read_text() for log in logs]
            time.sleep(0.1)
        insert_deliveries(database, COUNT)
        # The kill comes once 40 % is under way and both workers have dialled: dispatch per queue is serialized
        # by a row lock, so on a busy machine one worker can win every tick for a while.
        while (
            sum(v for k, v in counts(database).items() if k != "Pending") < COUNT * 0.4 or len(diallers(database)) < 2
        ):
            assert time.monotonic() < deadline, (counts(database), diallers(database))
            time.sleep(0.1)
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(10)
        killed_with_calls = counts(database).get("InProcess", 0)

        while sum(counts(database).get(status, 0) for status in TERMINAL) < COUNT:
            assert time.monotonic() < deadline, counts(database)
            assert workers[1].poll() is None, (tmp_path / "worker1.log").read_text()
            time.sleep(0.2)

        workers[1].send_signal(signal.SIGTERM)
        assert workers[1].wait(30) == 0  # drains the tick in progress and exits cleanly

        with database.read() as session:
            dials = session.execute(
                select(DeliveryEvent.delivery_id, func.count())
                .where(DeliveryEvent.to_status == "InProcess")
                .group_by(DeliveryEvent.delivery_id)
            ).all()
            dialled_by = set(session.scalars(select(DeliveryEvent.actor).where(DeliveryEvent.to_status == "InProcess")))
            dialler = dict(
                session.execute(
                    select(DeliveryEvent.delivery_id, DeliveryEvent.actor).where(DeliveryEvent.to_status == "InProcess")
                ).all()
            )
            finisher = dict(
                session.execute(
                    select(DeliveryEvent.delivery_id, DeliveryEvent.actor).where(
                        DeliveryEvent.from_status == "InProcess"
                    )
                ).all()
            )
        assert len(dials) == COUNT  # every delivery was dialled...
        assert {count for _, count in dials} == {1}  # ...exactly once
        assert len(dialled_by) == 2  # both workers took a share
        assert killed_with_calls > 0
        taken_over = [d for d, actor in finisher.items() if actor != dialler[d]]
        assert taken_over  # calls the killed worker dialled were finished by the survivor once its lease ran out
        assert len(set(finisher.values())) >= 1 and len(finisher) == COUNT
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
        database.dispose()
        drop()
