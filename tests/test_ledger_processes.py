"""Never overdrawn: 50 concurrent withdrawal requesters of one leader, through the HTTP API of two
server processes, while an admin approves and pays whatever is open (freeing the leader's one
open request): what was taken never exceeds what was available, and the entries add up."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from tests.ledger_world import age, buckets, earn, money_world, release
from tests.test_auth_processes import api_process
from tests.test_ledger import APPROVE, PAID, REQUEST, _request

OPEN = "{ withdrawals(status: REQUESTED, first: 100) { edges { node { id } } } }"


@dataclass(frozen=True)
class Steps:
    """One kind of withdrawal's documents and their root fields (a leader's, a sharer's)."""
    request: str
    approve: str
    paid: str
    open: str
    field: str  # the request's payload field
    listed: str  # the open list's field


LEADERS = Steps(REQUEST, APPROVE, PAID, OPEN, "withdrawalRequest", "withdrawals")


def race(tenant: Any, steps: Steps, token: str, requesters: int, request: dict) -> Counter[str]:
    """`requesters` threads, half on each of two API processes, each asking until one request
    went through or the balance ran out, while an admin approves and pays whatever is open."""
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    done = threading.Event()
    with api_process() as one, api_process() as two:
        servers = [one, two]
        start = threading.Barrier(requesters)

        def requester(n: int) -> None:
            client = servers[n % 2]
            start.wait()
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                payload = client.data(steps.request, request, token=token)[steps.field]
                code = payload["errors"][0]["code"] if payload["errors"] else "OK"
                with lock:
                    outcomes[code] += 1
                if code in ("OK", "INSUFFICIENT_BALANCE"):
                    return
                time.sleep(0.05)

        def admin() -> None:
            key = {"Authorization": f"Bearer {tenant.api_key}"}
            n = 0
            while not done.is_set():
                for edge in servers[n % 2].data(steps.open, token=tenant.admin_token)[steps.listed]["edges"]:
                    wid = edge["node"]["id"]
                    servers[n % 2].data(steps.approve, {"id": wid}, token=tenant.admin_token)
                    servers[(n + 1) % 2].data(steps.paid, {"id": wid, "ref": f"PAY-{wid}"}, headers=key)
                n += 1

        approver = threading.Thread(target=admin)
        approver.start()
        try:
            with ThreadPoolExecutor(requesters) as pool:
                for f in [pool.submit(requester, n) for n in range(requesters)]:
                    f.result()
        finally:
            done.set()
            approver.join(60)
    return outcomes


def test_fifty_concurrent_requests_over_two_processes_never_overdraw(  # type: ignore[no-untyped-def]
        services, tenant, owner_db, app_db_url):
    world = money_world(owner_db, tenant.uuid, orders=10, price=10000)  # 10 x 10.00 commission
    earn(tenant.uuid, world.order_ids)
    age(owner_db, tenant.uuid)
    release(app_db_url)
    owner_db.execute("UPDATE tenant SET withdrawal_daily_limit = 100 WHERE id = %s", (tenant.uuid,))
    outcomes = race(tenant, LEADERS, world.leader_token, 50, _request("7.00"))
    rows = owner_db.execute("SELECT status, count(*), sum(amount_minor) FROM withdrawal WHERE tenant_id = %s "
                            "GROUP BY status", (tenant.uuid,)).fetchall()
    taken = sum(int(total) for status, _, total in rows if status in ("REQUESTED", "APPROVED", "PAID"))
    assert taken <= 10000, rows
    assert outcomes["OK"] == 14 and taken == 9800, (outcomes, rows)  # 14 x 7.00 fit in 100.00
    b = buckets(owner_db, tenant.uuid, world.leader_user_id)
    assert b["available"] == 10000 - taken and b["available"] >= 0
    assert b["available"] + b["in_withdrawal"] + b["withdrawn"] == 10000
    print(f"\nrequests over 2 processes: {dict(outcomes)}; withdrawals by status: {rows}")
