"""A stand-in for /graphql inside the browser (Playwright routing), answering the client's named
operations with data shaped exactly like the public contract. It lets the screens be exercised and
photographed whatever parts of the API exist yet; every document the client sent is kept so a test
can validate it against the contract (test_screens.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

CNY = "CNY"


def money(amount: str) -> dict:
    return {"amount": amount, "currency": CNY}


class FakeApi:
    def __init__(self, roles: list[str] | None = None, timezone_name: str = "Asia/Shanghai") -> None:
        now = datetime.now(UTC)
        self.documents: list[str] = []
        self.language = "zh-CN"  # the last request's Accept-Language: notifications render in it, as the service's
        self.roles = roles or ["CUSTOMER", "LEADER"]
        self.tz = timezone_name
        self.point = {
            "id": "UGlja3VwUG9pbnQ6MQ",
            "name": "幸福里小区 3 号门便利店",
            "address": "上海市徐汇区幸福路 88 号",
            "active": True,
        }
        self.point2 = {
            "id": "UGlja3VwUG9pbnQ6Mg",
            "name": "绿地花园菜鸟驿站",
            "address": "上海市徐汇区绿地路 12 号",
            "active": True,
        }
        self.open_batch = {
            "id": "QmF0Y2g6MQ",
            "title": "周五鲜果团",
            "status": "OPEN",
            "closesAt": (now + timedelta(hours=5, minutes=12, seconds=30)).isoformat(),
            "pickupDate": (now + timedelta(days=1)).date().isoformat(),
            "offers": [
                self._offer("T2ZmZXI6MQ", "丹东草莓", "500g 盒", "29.90", 200, 37, 163),
                self._offer("T2ZmZXI6Mg", "赣南脐橙", "5 斤装", "39.00", 100, 0, 100),
                self._offer("T2ZmZXI6Mw", "土鸡蛋", "30 枚", "32.50", None, None, 58),
            ],
        }
        self.closed_batch = {
            "id": "QmF0Y2g6Mg",
            "title": "周三蔬菜团",
            "status": "CLOSED",
            "pickupDate": now.date().isoformat(),
        }
        self.codes: dict[str, str] = {}  # each order's pickup code: the customer's, never sent to the leader
        self.orders = [
            self._order(
                "1042",
                "王阿姨",
                "CONFIRMED",
                "123456",
                [("丹东草莓", "500g 盒", 2, "29.90"), ("土鸡蛋", "30 枚", 1, "32.50")],
            ),
            self._order("1043", "李先生", "CONFIRMED", "654321", [("赣南脐橙", "5 斤装", 1, "39.00")]),
            self._order("1044", "Zhang Wei", "CONFIRMED", "777001", [("丹东草莓", "500g 盒", 1, "29.90")]),
        ]
        self.pos = [self._po("PO-3815-0472", "SENT"), self._po("PO-9027-1163", "SHIPPED")]
        self.notifications = [
            {
                "id": "Tm90aWZpY2F0aW9uOjE",
                "event": "PICK_LIST_READY",
                "title": "分拣单已生成",
                "body": "团期「周三蔬菜团」在自提点「幸福里小区 3 号门便利店」的分拣单已生成，请查看并准备到货。",
                "title_en": "Pick list ready",
                "body_en": "The pick list of batch “周三蔬菜团” for 幸福里小区 3 号门便利店 is ready.",
                "createdAt": (now - timedelta(minutes=40)).isoformat(),
                "readAt": None,
            },
        ]

    def _offer(
        self, oid: str, name: str, unit: str, price: str, limit: int | None, remaining: int | None, sold: int
    ) -> dict:
        return {
            "id": oid,
            "status": "ACTIVE",
            "price": money(price),
            "stockLimit": limit,
            "remainingStock": remaining,
            "soldQuantity": sold,
            "product": {"name": name, "unit": unit},
        }

    def _order(self, number: str, customer: str, status: str, code: str, lines: list) -> dict:
        def total(q: int, p: str) -> str:
            return f"{q * float(p):.2f}"

        self.codes[f"T3JkZXI6{number}"] = code
        return {
            "id": f"T3JkZXI6{number}",
            "number": number,
            "pickNumber": len(self.codes),
            "batchSequence": len(self.codes),
            "customerName": customer,
            "customerPhone": f"+86139{len(self.codes):04d}{(len(self.codes) % 2) * 1000 + 101:04d}",
            "status": status,
            "pickupCode": None,
            "placedAt": "2025-06-10T02:15:00+00:00",
            "pickedUpAt": None,
            "total": money(f"{sum(q * float(p) for _, _, q, p in lines):.2f}"),
            "batch": {
                "id": self.closed_batch["id"],
                "title": self.closed_batch["title"],
                "pickupDate": self.closed_batch["pickupDate"],
            },
            "pickupPoint": {"id": self.point["id"], "name": self.point["name"]},
            "lines": [
                {"productName": n, "unit": u, "quantity": q, "status": "ACTIVE", "total": money(total(q, p))}
                for n, u, q, p in lines
            ],
        }

    def arrive(self) -> None:
        """deliveryReceive: the goods arrived, the confirmed orders are ready for pickup."""
        for o in self.orders:
            if o["status"] == "CONFIRMED":
                o["status"] = "READY_FOR_PICKUP"

    def _po(self, number: str, status: str) -> dict:
        shipped = status == "SHIPPED"
        po = {
            "id": f"UHVyY2hhc2VPcmRlcjo{number[-1]}",
            "number": number,
            "status": status,
            "createdAt": "2025-06-10T15:00:05+00:00",
            "csvUrl": f"/exports/purchase-orders/{number}.csv",
            "totalCost": money("1686.00"),
            "supplier": {"id": "U3VwcGxpZXI6MQ", "name": "丹东绿源果业"},
            "batch": {
                "id": self.closed_batch["id"],
                "title": self.closed_batch["title"],
                "pickupDate": self.closed_batch["pickupDate"],
            },
            "lines": [
                {
                    "quantity": 48,
                    "product": {"id": "UHJvZHVjdDox", "name": "丹东草莓", "unit": "500g 盒"},
                    "unitCost": money("21.00"),
                    "total": money("1008.00"),
                    "deliveries": [
                        {"quantity": 30, "pickupPoint": self.point},
                        {"quantity": 18, "pickupPoint": self.point2},
                    ],
                },
                {
                    "quantity": 20,
                    "product": {"id": "UHJvZHVjdDoy", "name": "赣南脐橙", "unit": "5 斤装"},
                    "unitCost": money("33.90"),
                    "total": money("678.00"),
                    "deliveries": [
                        {"quantity": 12, "pickupPoint": self.point},
                        {"quantity": 8, "pickupPoint": self.point2},
                    ],
                },
            ],
        }
        # Shipped: 2 boxes short, and one point reported a crushed box on arrival.
        for line in po["lines"]:
            short = 2 if shipped and line["product"]["id"] == "UHJvZHVjdDox" else 0
            line["shipped"] = line["quantity"] - short if shipped else None
            line["shorted"] = short
        po["discrepancies"] = [{
            "ordered": 18, "shipped": 16, "received": 16, "damaged": 1, "note": "一盒压坏",
            "photoUrls": ["https://img.example.com/crushed.jpg"], "receivedAt": "2025-06-11T08:40:00+00:00",
            "product": {"id": "UHJvZHVjdDox", "name": "丹东草莓", "unit": "500g 盒"}, "pickupPoint": self.point2,
        }] if shipped else []
        return po

    # --- the operations, by the names the client gives them ---------------------------------------
    def answer(self, op: str, v: dict) -> dict:
        if op == "Me":
            return {
                "me": {
                    "userId": "VXNlcjox",
                    "displayName": "陈姐",
                    "roles": self.roles,
                    "tenant": {"slug": "fresh", "name": "鲜邻优选", "timezone": self.tz, "currency": CNY},
                }
            }
        if op == "TenantSettings":
            return {"tenant": {"slug": "fresh", "name": "鲜邻优选", "timezone": self.tz}}
        if op == "TokenCreate":
            return {
                "tokenCreate": {"token": "fake-token", "errors": [], "viewer": self.answer("Me", {})["me"]}
            }
        if op == "MyPickupPoints":
            return {
                "me": {
                    "leader": {
                        "id": "TGVhZGVyOjE",
                        "displayName": "陈姐",
                        "pickupPoints": [self.point, self.point2],
                    }
                }
            }
        if op == "FirstScreen":  # index.html's request: who is signed in and 今日, in one
            return {**self.answer("Me", v), **self.answer("TodayScreen", v)}
        if op == "TodayScreen":
            return {**self.answer("TodayOpenBatches", v), **self.answer("TodayAwaitingDelivery", v),
                    **self.answer("TodayWaiting", v), **self.answer("TodayNotifications", v)}
        if op == "TodayOpenBatches":
            return {"batches": self._conn([self.open_batch])}
        if op == "TodayAwaitingDelivery":
            return {"awaiting": self._conn([o for o in self.orders if o["status"] == "CONFIRMED"])}
        if op == "TodayWaiting":
            return {"waiting": self._conn([o for o in self.orders if o["status"] == "READY_FOR_PICKUP"])}
        if op == "PickupFind":
            tail, seq = v.get("phoneTail"), v.get("batchSequence")
            found = [o for o in self.orders if o["status"] in ("READY_FOR_PICKUP", "CONFIRMED", "PICKED_UP")
                     and (tail is None or o["customerPhone"].endswith(tail))
                     and (seq is None or o["batchSequence"] == seq)]
            return {"orders": self._conn(found)}
        if op == "PickupConfirmOrders":
            done = [o for o in self.orders if o["id"] in v["orderIds"]]
            for o in done:
                o["status"], o["pickedUpAt"] = "PICKED_UP", "2025-06-12T09:30:00+00:00"
            return {"pickupConfirmOrders": {"orders": done, "alreadyPickedUp": [], "errors": []}}
        if op == "PickupWaiting":
            waiting: dict[str, dict] = {}
            for o in self.orders:
                if o["status"] == "READY_FOR_PICKUP":
                    w = waiting.setdefault(o["customerPhone"], {"customerName": o["customerName"],
                                                                "phone": o["customerPhone"], "orderCount": 0,
                                                                "since": o["placedAt"]})
                    w["orderCount"] += 1
            return {"pickupWaiting": list(waiting.values())}
        if op == "PickupRemind":
            return {"pickupRemind": {"reminded": len(self.answer("PickupWaiting", v)["pickupWaiting"]), "errors": []}}
        if op == "PickupBatches":
            return {"orders": self._conn([o for o in self.orders if o["status"] in ("READY_FOR_PICKUP", "CONFIRMED")])}
        if op == "TodayNotifications":
            english = self.language.lower().startswith("en")
            shown = [{**n, "title": n["title_en"], "body": n["body_en"]} if english else n for n in self.notifications]
            return {"notifications": self._conn([n for n in shown if not n["readAt"]])}
        if op == "NotificationMarkRead":
            for n in self.notifications:
                if n["id"] == v["id"]:
                    n["readAt"] = "now"
            return {"notificationMarkRead": True}
        if op == "OrderFilterBatches":
            return {"batches": self._conn([self.open_batch, self.closed_batch])}
        if op == "Orders":
            found = [o for o in self.orders if not v.get("status") or o["status"] in v["status"]]
            return {"orders": self._conn(found)}
        if op in ("PickList", "DeliveryReceive"):
            if op == "DeliveryReceive":
                self.arrive()
            return {("pickList" if op == "PickList" else "deliveryReceive"): self._pick_list()}
        if op == "PickupConfirm":
            for o in self.orders:
                if self.codes[o["id"]] == v["pickupCode"]:
                    if o["status"] == "PICKED_UP":  # confirming twice returns the order, as the API does
                        return {"pickupConfirm": {"order": o, "errors": []}}
                    if o["status"] == "CONFIRMED":  # the goods have not arrived
                        return {
                            "pickupConfirm": {
                                "order": None,
                                "errors": [
                                    {
                                        "code": "NOT_ARRIVED",
                                        "field": ["pickupCode"],
                                        "message": "The goods of this order have not arrived yet: confirm "
                                        "their delivery on the pick list first.",
                                    }
                                ],
                            }
                        }
                    if o["status"] != "READY_FOR_PICKUP":
                        return {
                            "pickupConfirm": {
                                "order": None,
                                "errors": [
                                    {
                                        "code": "CONFLICT",
                                        "field": ["pickupCode"],
                                        "message": "This order is not ready for pickup yet "
                                        "(its batch has not closed).",
                                    }
                                ],
                            }
                        }
                    o["status"] = "PICKED_UP"
                    o["pickedUpAt"] = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()  # as if earlier
                    return {
                        "pickupConfirm": {
                            "order": {**o, "pickedUpAt": datetime.now(UTC).isoformat()},
                            "errors": [],
                        }
                    }
            return {
                "pickupConfirm": {
                    "order": None,
                    "errors": [
                        {"code": "NOT_FOUND", "field": ["pickupCode"], "message": "no such pickup code"}
                    ],
                }
            }
        if op == "MyCommunityGroups":
            return {
                "me": {
                    "leader": {
                        "id": "TGVhZGVyOjE",
                        "communityGroups": [
                            {
                                "id": "Q29tbXVuaXR5R3JvdXA6MQ",
                                "name": "幸福里邻居团购群",
                                "inviteCode": "XFL8K2",
                                "memberCount": 186,
                            }
                        ],
                    }
                }
            }
        if op == "MyCommissions":

            def c(i: int, status: str, amount: str, o: dict) -> dict:
                return {
                    "id": f"Q29tbWlzc2lvbjo{i}",
                    "status": status,
                    "amount": money(amount),
                    "order": {
                        "id": o["id"],
                        "number": o["number"],
                        "customerName": o["customerName"],
                        "status": o["status"],
                        "batch": o["batch"],
                    },
                }

            o1, o2, o3 = self.orders
            return {
                "commissions": self._conn(
                    [c(1, "EARNED", "9.23", o1), c(2, "PENDING", "3.90", o2), c(3, "REVERSED", "2.99", o3)]
                )
            }
        if op == "PurchaseOrders":
            return {"purchaseOrders": self._conn(self.pos)}
        if op == "PurchaseOrder":
            return {"node": next((p for p in self.pos if p["id"] == v["id"]), None)}
        if op == "PurchaseOrderShip":  # the units shipped per product (all of them, as the client sends)
            po = next(p for p in self.pos if p["id"] == v["id"])
            shipped = {x["productId"]: x["quantity"] for x in v.get("lines") or []}
            po["status"] = "SHIPPED"
            for line in po["lines"]:
                line["shipped"] = shipped.get(line["product"]["id"], line["quantity"])
                line["shorted"] = line["quantity"] - line["shipped"]
            return {"purchaseOrderShip": {"purchaseOrder": po, "errors": []}}
        if op in ("PurchaseOrderAcknowledge", "PurchaseOrderMarkShipped"):
            po = next(p for p in self.pos if p["id"] == v["id"])
            po["status"] = "ACKNOWLEDGED" if op == "PurchaseOrderAcknowledge" else "SHIPPED"
            field = (
                "purchaseOrderAcknowledge" if op == "PurchaseOrderAcknowledge" else "purchaseOrderMarkShipped"
            )
            return {field: {"purchaseOrder": po, "errors": []}}
        raise KeyError(op)

    def _pick_list(self) -> dict:
        totals: dict[tuple[str, str], int] = {}
        for o in self.orders:
            for line in o["lines"]:
                totals[(line["productName"], line["unit"])] = (
                    totals.get((line["productName"], line["unit"]), 0) + line["quantity"]
                )
        return {
            "batch": self.closed_batch,
            "pickupPoint": self.point,
            "totals": [{"productName": n, "unit": u, "quantity": q} for (n, u), q in totals.items()],
            "orders": [
                {
                    "customerName": o["customerName"],
                    "pickNumber": o["pickNumber"],
                    "pickupCode": None,
                    "order": {"id": o["id"], "number": o["number"], "status": o["status"]},
                    "lines": [
                        {
                            "productName": line["productName"],
                            "unit": line["unit"],
                            "quantity": line["quantity"],
                        }
                        for line in o["lines"]
                    ],
                }
                for o in self.orders
            ],
        }

    @staticmethod
    def _conn(nodes: list) -> dict:
        return {
            "edges": [{"node": n, "cursor": str(i)} for i, n in enumerate(nodes)],
            "pageInfo": {"hasNextPage": False, "endCursor": None},
        }

    # --- Playwright routing ------------------------------------------------------------------------
    def install(self, page: Any) -> None:
        def graphql(route: Any) -> None:
            body = json.loads(route.request.post_data or "{}")
            self.documents.append(body.get("query", ""))
            op = body.get("operationName")
            self.language = route.request.headers.get("accept-language") or self.language
            try:
                payload = {"data": self.answer(op, body.get("variables") or {})}
            except KeyError:
                payload = {"errors": [{"message": f"fake API: no answer for {op}"}]}
            route.fulfill(status=200, content_type="application/json", body=json.dumps(payload))

        def export(route: Any) -> None:
            assert route.request.headers.get("authorization", "").startswith("Bearer "), (
                "CSV fetched without the token"
            )
            route.fulfill(
                status=200,
                content_type="text/csv",
                body="product,unit,pickup_point,quantity\n丹东草莓,500g 盒,幸福里小区 3 号门便利店,30\n",
            )

        page.route("**/graphql", graphql)
        page.route("**/exports/**", export)
