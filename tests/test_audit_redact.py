"""What an audit entry keeps of a value (no database needed)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

from service.audit.chain import entry_hash, first_break
from service.audit.redact import REDACTED, clean, mask_phone


def test_phone_numbers_are_masked_and_secrets_dropped() -> None:
    assert mask_phone("+8613901230101") == "+86139****0101"
    value = {
        "phone": "+8613901230101", "contactPhone": "+8613901239999", "password": "hunter22",
        "password_hash": "$argon2id$...", "newPassword": "x", "key_hash": b"\x01", "apiKey": "gbk_secret",
        "token": "t", "pickup_code": "123456", "name": "Farm", "price": Decimal("9.90"),
        "id": UUID(int=1), "idempotency_key": "k",
    }
    cleaned = clean(value)
    assert cleaned["phone"] == "+86139****0101" and cleaned["contactPhone"] == "+86139****9999"
    for secret in ("password", "password_hash", "newPassword", "key_hash", "apiKey", "token", "pickup_code",
                   "idempotency_key"):
        assert cleaned[secret] == REDACTED, secret
    assert cleaned["name"] == "Farm" and cleaned["price"] == "9.90" and cleaned["id"] == str(UUID(int=1))
    assert clean({"phone": None, "password": None}) == {"phone": None, "password": None}


def _chain(n: int) -> list[dict]:
    entries, prev = [], None
    for seq in range(1, n + 1):
        e = {"tenant_id": UUID(int=7), "seq": seq, "id": UUID(int=seq), "at": datetime(2026, 1, 1, tzinfo=UTC),
             "actor_kind": "admin", "actor_id": None, "operation": "x", "object_id": None, "changes": "{}",
             "request_id": "r", "prev_hash": prev}
        e["hash"] = prev = entry_hash(e)
        entries.append(e)
    return entries


def test_the_chain_finds_the_first_edit_gap_or_relink() -> None:
    assert first_break(_chain(4)) is None
    edited = _chain(4)
    edited[2]["operation"] = "y"
    assert first_break(edited).seq == 3  # type: ignore[union-attr]
    gap = _chain(4)
    del gap[1]
    assert first_break(gap).seq == 3  # type: ignore[union-attr]
    rehashed = _chain(4)  # an edit whose hash is recomputed still breaks the next link
    rehashed[1]["operation"] = "y"
    rehashed[1]["hash"] = entry_hash(rehashed[1])
    found = first_break(rehashed)
    assert found is not None and found.seq == 3 and "prev_hash" in found.reason


def test_the_chains_head_finds_entries_deleted_at_the_end() -> None:
    chain = _chain(4)
    assert first_break(chain, (4, chain[-1]["hash"])) is None
    found = first_break(chain[:2], (4, chain[-1]["hash"]))
    assert found is not None and found.seq == 3 and "deleted at the end" in found.reason
    assert first_break(chain, (4, b"other")) is not None
