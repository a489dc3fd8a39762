"""The idempotency hash of an order request never changes: stored hashes are compared with a
retry's, so the fast canonical form must give the very bytes of the JSON form it replaced."""

from __future__ import annotations

import hashlib
import json
from uuid import UUID

from hypothesis import given
from hypothesis import strategies as st

from service.orders.placement import LineSpec, request_hash


def _reference(batch_id, pickup_point_id, lines) -> str:  # type: ignore[no-untyped-def]
    body = {
        "batch": str(batch_id),
        "point": str(pickup_point_id),
        "lines": sorted((str(line.offer_id), line.quantity) for line in lines),
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


ids = st.one_of(st.none(), st.uuids())
lines = st.lists(st.builds(LineSpec, offer_id=ids, quantity=st.integers(-10**12, 10**12)), max_size=8)


@given(ids, ids, lines)
def test_same_hash_as_the_canonical_json(batch_id, pickup_point_id, order_lines) -> None:  # type: ignore[no-untyped-def]
    assert request_hash(batch_id, pickup_point_id, order_lines) == _reference(batch_id, pickup_point_id, order_lines)


def test_a_known_hash_and_line_order_does_not_matter() -> None:
    batch, point = UUID(int=1), UUID(int=2)
    a, b = LineSpec(UUID(int=3), 2), LineSpec(UUID(int=4), 1)
    assert request_hash(batch, point, [a, b]) == request_hash(batch, point, [b, a])
    assert request_hash(batch, point, [a, b]) != request_hash(batch, point, [LineSpec(UUID(int=3), 1), b])
    assert request_hash(batch, point, [a]) == hashlib.sha256(
        b'{"batch": "00000000-0000-0000-0000-000000000001", "lines": [["00000000-0000-0000-0000-000000000003", 2]],'
        b' "point": "00000000-0000-0000-0000-000000000002"}').hexdigest()
