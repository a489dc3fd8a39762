"""Dates the screens default to and the times they send are the tenant's, whatever the device's zone.

A phone in Los Angeles at 2026-12-07 17:30 UTC is still on the 7th; the tenant in Shanghai is on the 8th
(01:30). The helpers in format.js must answer for Shanghai, and a wall-clock time typed into a form
must reach the API as that instant in Shanghai.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def _helpers(web: Any, device_zone: str, at: datetime, tenant_zone: str = "Asia/Shanghai") -> dict:
    tab = web(timezone_id=device_zone)
    page = tab.page
    page.clock.set_fixed_time(at)
    page.goto(f"{tab.base_url}/app/#/schema")
    return page.evaluate("""async (tz) => {
        const f = await import('/app/format.js');
        f.setTimeZone(tz);
        const back = f.isoToZoned('2026-03-29T01:30:00Z');
        return { day: f.zonedDay(), month: f.zonedMonth(), then: f.zonedDay(new Date(Date.now() - 29 * 86400e3)),
                 sent: f.zonedToIso('2026-12-08T09:00'), none: f.zonedToIso(''), back,
                 round: f.zonedToIso(back), browserDay: new Date().getDate() };
    }""", tenant_zone)


def test_today_is_the_tenants_day_not_the_devices(web: Any) -> None:
    got = _helpers(web, "America/Los_Angeles", datetime(2026, 12, 7, 17, 30, tzinfo=UTC))
    assert got["browserDay"] == 7  # the device is still on the 7th, so a browser-dated default would be wrong
    assert got["day"] == "2026-12-08" and got["then"] == "2026-11-09"


def test_month_turns_with_the_tenant(web: Any) -> None:
    got = _helpers(web, "Europe/London", datetime(2026, 11, 30, 16, 5, tzinfo=UTC))
    assert got["month"] == "2026-12"


def test_typed_times_are_instants_in_the_tenants_zone(web: Any) -> None:
    got = _helpers(web, "America/Los_Angeles", datetime(2026, 12, 7, 17, 30, tzinfo=UTC))
    assert got["sent"] == "2026-12-08T01:00:00.000Z" and got["none"] is None
    assert got["back"] == "2026-03-29T09:30" and got["round"] == "2026-03-29T01:30:00.000Z"


def test_a_zone_with_summer_time(web: Any) -> None:
    # Berlin moves to summer time at 01:00 UTC on 2026-03-29: 01:30 UTC is 03:30 there.
    got = _helpers(web, "Asia/Shanghai", datetime(2026, 3, 28, 23, 30, tzinfo=UTC), "Europe/Berlin")
    assert got["day"] == "2026-03-29" and got["back"] == "2026-03-29T03:30" and got["round"] == "2026-03-29T01:30:00.000Z"
