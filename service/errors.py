"""Errors the domain raises; the GraphQL layer turns them into payload `errors`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum


class ErrorCode(str, Enum):
    INVALID = "INVALID"
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    CONFLICT = "CONFLICT"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    BATCH_NOT_OPEN = "BATCH_NOT_OPEN"
    OUT_OF_STOCK = "OUT_OF_STOCK"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    RATE_LIMITED = "RATE_LIMITED"
    NOT_ARRIVED = "NOT_ARRIVED"  # pickupConfirm before deliveryReceive: the goods are not there
    GROUP_FULL = "GROUP_FULL"  # 拼团: the group has its size in paid and held places
    COUPON_EXHAUSTED = "COUPON_EXHAUSTED"
    COUPON_LIMIT_REACHED = "COUPON_LIMIT_REACHED"
    COUPON_NOT_APPLICABLE = "COUPON_NOT_APPLICABLE"
    COUPON_EXPIRED = "COUPON_EXPIRED"
    INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"  # a withdrawal above the available balance


@dataclass(frozen=True)
class FieldError:
    code: ErrorCode
    message: str
    field: Sequence[str] | None = None


@dataclass
class UserErrors(Exception):
    """A user's mistake: the mutation changes nothing and returns these errors."""

    errors: list[FieldError] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(f"{e.code.value}: {e.message}" for e in self.errors)


def fail(code: ErrorCode, message: str, field: Sequence[str] | None = None) -> UserErrors:
    return UserErrors([FieldError(code, message, list(field) if field else None)])


class Collector:
    """Gathers several validation errors before raising them together."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, code: ErrorCode, message: str, field: Sequence[str] | None = None) -> None:
        self.errors.append(FieldError(code, message, list(field) if field else None))

    def raise_if_any(self) -> None:
        if self.errors:
            raise UserErrors(list(self.errors))


class AuthError(Exception):
    """Authentication or tenant resolution failed: a GraphQL error, the request is refused."""

    def __init__(self, code: str, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class PermissionDenied(Exception):
    """The caller's roles do not allow this operation."""

    def __init__(self, message: str = "You are not allowed to do this.") -> None:
        super().__init__(message)
        self.message = message
