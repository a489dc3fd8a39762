"""Types every domain uses: Node, Money, UserError and the enums of the contract."""

from __future__ import annotations

from decimal import Decimal
from enum import Enum

import strawberry

from service.accounts.models import PaymentMode as PaymentModeEnum
from service.accounts.models import Role as RoleEnum
from service.errors import ErrorCode as ErrorCodeEnum
from service.errors import FieldError, UserErrors
from service.i18n import localize
from service.money import from_minor


def describe_values(enum: type[Enum], descriptions: dict[str, str]) -> None:
    """Descriptions of a registered enum's values: the domain's enums stay plain `str` enums (a
    `strawberry.enum_value` member would not be the string it stands for)."""
    for value in enum.__strawberry_definition__.values:  # type: ignore[attr-defined]  # a marker attribute on our own function or object
        value.description = descriptions.get(value.name, value.description)


# strawberry.enum registers the contract's name on the class itself: the names below are the
# classes, so they type-check as annotations.
strawberry.enum(ErrorCodeEnum, name="ErrorCode", description="Why a mutation refused its input (UserError.code).")
describe_values(ErrorCodeEnum, {
    "INVALID": "A value is malformed or out of range.",
    "NOT_FOUND": "The object does not exist or the caller may not see it.",
    "FORBIDDEN": "The caller may not do this: not signed in, or their roles do not allow it.",
    "CONFLICT": "The object's state does not allow the change (e.g. past the cutoff).",
    "ALREADY_EXISTS": "A unique value is taken (a slug, a phone number, an e-mail, a second application).",
    "BATCH_NOT_OPEN": "The batch does not take orders now.",
    "OUT_OF_STOCK": "Not enough stock left for the quantity asked.",
    "LIMIT_EXCEEDED": "A per-customer or count limit would be passed.",
    "INVALID_CREDENTIALS": "Wrong login or password.",
    "RATE_LIMITED": "Too many attempts in the current window; wait for it to end.",
    "NOT_ARRIVED": "pickupConfirm before deliveryReceive: the goods are not at the pickup point yet.",
    "GROUP_FULL": "The 拼团 group has no place left (paid or held): start a new group.",
    "COUPON_EXHAUSTED": "A coupon template's quantity or money budget is used up.",
    "COUPON_LIMIT_REACHED": "The customer holds as many of these coupons as the template allows.",
    "COUPON_NOT_APPLICABLE": "The coupon does not apply: another order holds it, nothing in scope, below the "
                             "threshold, or not for this customer.",
    "COUPON_EXPIRED": "The coupon (or its template) is past its validity or was ended.",
    "INSUFFICIENT_BALANCE": "A withdrawal above the leader's available balance (or with a negative balance).",
})
strawberry.enum(RoleEnum, name="Role", description="What a caller may do.")
describe_values(RoleEnum, {
    "PLATFORM_ADMIN": "The operator of the service (platform token).",
    "TENANT_ADMIN": "The brand's administrator; API keys act as one.",
    "LEADER": "A group leader.",
    "SUPPLIER": "A supplier's staff.",
    "CUSTOMER": "A customer.",
})
strawberry.enum(PaymentModeEnum, name="PaymentMode", description="How a tenant's customers pay.")
describe_values(PaymentModeEnum, {
    "PREPAID": "Online before the cutoff: orders wait in PENDING_PAYMENT until the brand's back end calls "
               "orderMarkPaid.",
    "PAY_AT_PICKUP": "At the pickup point: orders are PLACED.",
})
ErrorCode = ErrorCodeEnum
Role = RoleEnum
PaymentMode = PaymentModeEnum


@strawberry.interface(description="An object with a global ID, which node(id) answers.")
class Node:
    id: strawberry.ID = strawberry.field(description="The object's global ID: opaque, stable, unique across types.")


@strawberry.type(description="An amount of money: a decimal string and its currency. Never a float.")
class Money:
    amount: Decimal = strawberry.field(description="The amount as a decimal string with the currency's number of "
                                                   "decimals (\"59.70\" CNY).")
    currency: str = strawberry.field(description="The ISO 4217 currency code.")

    @classmethod
    def of(cls, minor: int, currency: str) -> Money:
        return cls(amount=from_minor(minor, currency), currency=currency)


def rate_text(rate: Decimal) -> Decimal:
    """Every rate the API returns has this one form: at least two decimals, no trailing zeros
    beyond (0.1000 → "0.10", 0.1250 → "0.125", 0 → "0.00")."""
    hundredths = rate.quantize(Decimal("0.01"))
    return hundredths if hundredths == rate else rate.normalize()


@strawberry.type(description="Why a mutation refused its input.")
class UserError:
    field: list[str] | None = strawberry.field(description="The path of the input value it is about, from the "
                                                           "argument's name; null when about no single value.")
    code: ErrorCode = strawberry.field(description="What kind of error: choose the text you show by it.")
    message: str = strawberry.field(description="The explanation in the request's language (Accept-Language: zh-CN "
                                                 "or en; English by default).")

    @classmethod
    def of(cls, error: FieldError) -> UserError:
        return cls(field=list(error.field) if error.field else None, code=error.code,
                   message=localize(error.message, error.code.value))


def user_errors(exc: UserErrors) -> list[UserError]:
    return [UserError.of(e) for e in exc.errors]
