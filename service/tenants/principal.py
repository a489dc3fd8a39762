"""Who is calling, for which tenant."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from uuid import UUID

from service.accounts.models import PaymentMode, ReferralBinding, Role, ShortagePolicy


class PrincipalKind(str, Enum):
    ANONYMOUS = "anonymous"
    PLATFORM = "platform"
    API_KEY = "api_key"
    USER = "user"


@dataclass(frozen=True)
class TenantInfo:
    id: UUID
    slug: str
    name: str
    timezone: str
    currency: str
    payment_mode: PaymentMode
    default_commission_rate: Decimal
    payment_window_minutes: int
    # Where a phone number given without a country code is read (ISO 3166 alpha-2).
    phone_region: str = "CN"
    # The settings of other features (tenantUpdate; the defaults are the columns' defaults).
    pickup_window_days: int = 3
    commission_freeze_days: int = 7
    after_sales_window_hours: int = 48
    shortage_policy: ShortagePolicy = ShortagePolicy.LAST_ORDERED_FIRST
    withdrawal_minimum_minor: int = 0
    withdrawal_fee_rate: Decimal = Decimal(0)
    front_end_url_template: str | None = None
    distribution_enabled: bool = False
    distribution_level1_rate: Decimal = Decimal(0)
    distribution_level2_rate: Decimal = Decimal(0)
    referral_binding: ReferralBinding = ReferralBinding.FIRST
    attribution_window_days: int = 30


@dataclass
class Principal:
    kind: PrincipalKind
    tenant: TenantInfo | None
    user_id: UUID | None = None
    api_key_id: UUID | None = None
    # Loaded on first use for users, so a refused request never touches the database.
    roles: frozenset[Role] | None = field(default=None)
    # A user's token version; the account is checked against it with the roles (account_roles),
    # or, for orderPlace, by place_order() itself.
    token_version: int | None = None

    @property
    def is_platform(self) -> bool:
        return self.kind is PrincipalKind.PLATFORM
