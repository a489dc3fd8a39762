"""Unexpected errors are masked (a generic message with the request id) and logged with it."""

from __future__ import annotations

import logging

import pytest

ME_AND_ORDERS = "{ me { roles } orders { edges { node { id } } } }"


def _assert_refused_cleanly(body: dict) -> None:
    text = str(body)
    assert "sqlalche" not in text and "transaction" not in text, body
    for error in body.get("errors") or []:
        assert error["extensions"]["code"] in {"INVALID_TOKEN", "FORBIDDEN", "UNAUTHENTICATED"}, body


def test_disabled_user_is_refused_cleanly(gql, tenant, make_customer, owner_db, caplog) -> None:
    customer = make_customer(tenant)
    owner_db.execute("UPDATE app_user SET disabled_at = now() WHERE id = %s",
                     (__import__("service.global_id", fromlist=["decode"]).decode(customer.user_id)[1],))
    for _ in range(3):
        body = gql(ME_AND_ORDERS, token=customer.token)
        print(body)
        _assert_refused_cleanly(body)
