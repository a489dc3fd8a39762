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


def test_global_ids_decode_alike_whether_remembered_or_not() -> None:
    import uuid

    from service import global_id

    global_id.decode.cache_clear()
    ids = [uuid.uuid4() for _ in range(12)]
    good = [global_id.encode("Offer", i) for i in ids]
    bad = ["", "x", "T2ZmZXI6bm90LWEtdXVpZA", global_id.encode("Offer", ids[0])[:-2], "\u00e9"]
    for _ in range(2):  # decoded, then remembered
        assert [global_id.decode(g) for g in good] == [("Offer", i) for i in ids]
        assert [global_id.decode_as(g, "Offer") for g in good] == ids
        assert [global_id.decode_as(g, "Batch") for g in good] == [None] * len(ids)
        assert [global_id.decode(b) for b in bad] == [None] * len(bad)
    assert global_id.decode.cache_info().hits >= len(good) + len(bad)


def test_uuid_text_is_str() -> None:
    import uuid

    from service.orders import placement

    values = [uuid.uuid4() for _ in range(1000)]
    assert all(placement._uuid_text(v) == str(v) for v in values + values[:10])
    assert placement._uuid_text(uuid.UUID(str(values[0]))) == str(values[0])  # an equal UUID, another object


def test_by_identity_keeps_values_per_object_and_forgets_when_full() -> None:
    from service.memo import MISSING, ByIdentity

    memo: ByIdentity[int] = ByIdentity(3)
    a, b, equal_to_a = [1], [2], [1]
    assert memo.get(a) is MISSING and memo.get(a, None) is None
    assert memo.put(a, 10) == 10 and memo.get(a) == 10
    assert memo.get(equal_to_a) is MISSING  # identity, not equality
    memo.put(b, 20)
    memo.put(equal_to_a, 30)
    assert (memo.get(a), memo.get(b), memo.get(equal_to_a), len(memo)) == (10, 20, 30, 3)
    memo.put([3], 40)  # full: forgets everything, keeps the new one
    assert len(memo) == 1 and memo.get(a) is MISSING
