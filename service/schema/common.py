"""Types every domain uses: Node, Money, UserError and the enums of the contract."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from service.accounts.models import PaymentMode as PaymentModeEnum
from service.accounts.models import Role as RoleEnum
from service.errors import ErrorCode as ErrorCodeEnum
from service.errors import FieldError, UserErrors
from service.money import from_minor

# strawberry.enum registers the contract's name on the class itself: the names below are the
# classes, so they type-check as annotations.
strawberry.enum(ErrorCodeEnum, name="ErrorCode")
strawberry.enum(RoleEnum, name="Role")
strawberry.enum(PaymentModeEnum, name="PaymentMode")
ErrorCode = ErrorCodeEnum
Role = RoleEnum
PaymentMode = PaymentModeEnum


@strawberry.interface
class Node:
    id: strawberry.ID


@strawberry.type
class Money:
    amount: Decimal
    currency: str

    @classmethod
    def of(cls, minor: int, currency: str) -> Money:
        return cls(amount=from_minor(minor, currency), currency=currency)


@strawberry.type
class UserError:
    field: list[str] | None
    code: ErrorCode
    message: str

    @classmethod
    def of(cls, error: FieldError) -> UserError:
        return cls(field=list(error.field) if error.field else None, code=error.code, message=error.message)


def user_errors(exc: UserErrors) -> list[UserError]:
    return [UserError.of(e) for e in exc.errors]
