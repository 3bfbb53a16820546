"""Concurrent tasks that share contacts in different orders never deadlock on PostgreSQL (issue #12, item 4).

The red-team probe: 300 CCaaS_CreateProactiveDelivery requests over two API processes, their contacts shared in
different orders, gave 41 answers of 500 (PostgreSQL's deadlock detector). The intake write upserts a group's contacts
in key order (intake/service.py), so every transaction locks shared contacts in the same order.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.support.postgres import create_postgres_database
from tests.support.servers import start_server, stop

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

CONFIG = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"  # the demo voice configuration of CCaaS_CreateProactiveDelivery
SHARED = [f"ext-deadlock-{n}" for n in range(4)]


def _body(order: list[str]) -> dict[str, object]:
    contacts = [
        {"uniqueIdentifier": key, "firstName": "Ana", "lastName": f"Lima {n}", "mobilePhoneNumber": f"+1555030{n}"}
        for n, key in enumerate(order)
    ]
    return {"ApiVersion": "1.0", "ProactiveEngagementConfigId": CONFIG, "Contacts": contacts}


def test_tasks_sharing_contacts_in_any_order_all_succeed_over_two_processes(postgres_admin_url):
    url, drop = create_postgres_database(postgres_admin_url)
    server, process = start_server(url, CCAAS_DIALER="off", CCAAS_WORKERS="2")
    try:
        headers = {"Authorization": f"Bearer {server.token()}"}
        shuffle = random.Random(12)
        bodies = [_body(shuffle.sample(SHARED, k=len(SHARED))) for _ in range(300)]

        def post(body: dict[str, object]) -> int:
            with httpx.Client(base_url=server.base, headers=headers, timeout=60) as client:
                return client.post("/api/data/v9.2/CCaaS_CreateProactiveDelivery", json=body).status_code

        with ThreadPoolExecutor(max_workers=24) as pool:
            statuses = list(pool.map(post, bodies))

        assert {status: statuses.count(status) for status in set(statuses)} == {200: 300}
    finally:
        stop(process)
        drop()
