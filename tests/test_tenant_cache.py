"""Unknown X-Tenant names cannot grow the process: the tenant caches are bounded, names that
cannot be a slug are refused before any lookup, and a name that is no tenant is soon forgotten."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx

ME = "{ tenant { slug } }"


def _ask(base_url: str, slugs: list[str]) -> list[tuple[int, str, str]]:
    out = []
    with httpx.Client(base_url=base_url, timeout=60) as http:
        for slug in slugs:
            r = http.post("/graphql", json={"query": ME}, headers={"X-Tenant": slug})
            error = r.json()["errors"][0]
            out.append((r.status_code, error["extensions"]["code"], error["message"]))
    return out


def test_6000_unknown_slugs_leave_the_cache_bounded(gql, tenant):  # type: ignore[no-untyped-def]
    from service.tenants import resolution

    run = uuid.uuid4().hex[:8]
    slugs = [f"nobody-{run}-{i}" for i in range(6000)]
    with ThreadPoolExecutor(8) as pool:
        answers = [a for part in pool.map(lambda k: _ask(gql.base_url, slugs[k::8]), range(8)) for a in part]
    assert len(answers) == 6000 and {(s, c) for s, c, _ in answers} == {(400, "UNKNOWN_TENANT")}
    assert len(resolution._by_slug) <= resolution._TENANTS_MAX
    # the real tenant is still served
    assert gql.data(ME, tenant=tenant.slug)["tenant"]["slug"] == tenant.slug


def test_a_slug_that_cannot_be_one_is_refused_unread_and_not_echoed(gql):  # type: ignore[no-untyped-def]
    from service.tenants import resolution

    before = len(resolution._by_slug)
    junk = [("x" * 15_000) + uuid.uuid4().hex for _ in range(50)] + ["a", "<script>", "t" * 41]
    answers = _ask(gql.base_url, junk)
    assert {(s, c) for s, c, _ in answers} == {(400, "UNKNOWN_TENANT")}
    assert all(len(m) < 100 and "x" * 50 not in m and "<script>" not in m for _, _, m in answers)
    assert len(resolution._by_slug) <= before


def test_the_bounded_cache_keeps_the_recent_and_forgets_the_expired() -> None:
    import time

    from service.tenants.resolution import BoundedCache

    cache: BoundedCache[str, int] = BoundedCache(3)
    for k in "abc":
        cache.put(k, 1, ttl=60)
    assert cache.get("a") == (True, 1)  # a is now the most recent
    cache.put("d", 1, ttl=60)
    assert cache.get("b") == (False, None) and len(cache) == 3
    cache.put("e", 2, ttl=0.05)
    time.sleep(0.1)
    assert cache.get("e") == (False, None)
