"""Input types built once (service/schema/inputs.py) give what strawberry's own conversion gives."""

from __future__ import annotations

import dataclasses

import strawberry
from hypothesis import given, settings
from hypothesis import strategies as st
from strawberry.types.arguments import convert_argument

from service.schema import schema
from service.schema.orders import OrderLineInput, OrderPlaceInput


@strawberry.input
class PlainLine:
    offer_id: strawberry.ID
    quantity: int


@strawberry.input
class PlainPlace:
    batch_id: strawberry.ID
    pickup_point_id: strawberry.ID
    lines: list[PlainLine]
    idempotency_key: str
    share_code: str | None = None
    coupon_id: strawberry.ID | None = None
    group_buy_id: strawberry.ID | None = None
    start_group_buy: bool | None = None


_ids = st.text(min_size=0, max_size=12)
_lines = st.lists(st.fixed_dictionaries({"offerId": _ids, "quantity": st.integers(-5, 10**6)}), max_size=4)
_values = st.fixed_dictionaries(
    {"batchId": _ids, "pickupPointId": _ids, "lines": _lines, "idempotencyKey": st.text(max_size=20)},
    optional={"shareCode": st.none() | _ids, "couponId": st.none() | _ids, "groupBuyId": st.none() | _ids,
              "startGroupBuy": st.none() | st.booleans()},
)


def _convert(value: dict, type_: type) -> object:
    built = schema()
    return convert_argument(value, type_, built.schema_converter.scalar_registry, built.config)


@settings(max_examples=200, deadline=None)
@given(_values)
def test_an_order_input_is_built_as_strawberry_builds_it(value: dict) -> None:
    ours = _convert(value, OrderPlaceInput)
    theirs = _convert(value, PlainPlace)
    assert isinstance(ours, OrderPlaceInput) and all(isinstance(line, OrderLineInput) for line in ours.lines)
    assert dataclasses.asdict(ours) == dataclasses.asdict(theirs)  # type: ignore[call-overload]  # both are dataclass instances
    assert ours.lines is not value["lines"]  # a copy: graphql-core shares default values between requests


def test_the_hook_is_strawberrys_and_the_classes_are_ours() -> None:
    from service.schema.inputs import _build

    for cls in (OrderPlaceInput, OrderLineInput):
        definition = cls.__strawberry_definition__  # type: ignore[attr-defined]  # an input type
        assert definition.from_input is _build and definition.origin is cls
    assert PlainPlace.__strawberry_definition__.from_input is None  # type: ignore[attr-defined]  # other inputs as they were
