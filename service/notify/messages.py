"""The short human title and body of each event, in Chinese and English, for in-app and e-mail."""

from __future__ import annotations

from typing import Any

from service.money import from_minor
from service.notify.events import WebhookEvent as E

# (title, body); bodies may name payload values in {braces}, filled when present.
TEXTS: dict[str, tuple[str, str]] = {
    E.ORDER_PLACED: (
        "订单已提交 / Order placed",
        "您的订单{number}已提交。\nYour order{number} has been placed.",
    ),
    E.ORDER_PAID: (
        "订单已支付 / Order paid",
        "您的订单{number}已支付成功。\nYour order{number} has been paid.",
    ),
    E.ORDER_CANCELLED: (
        "订单已取消 / Order cancelled",
        "您的订单{number}已取消。{reason}\nYour order{number} has been cancelled.",
    ),
    E.ORDER_READY_FOR_PICKUP: (
        "订单已可取货 / Order ready for pickup",
        "您的订单{number}已到货，请凭取货码到自提点取货。\n"
        "Your order{number} has arrived: collect it at your pickup point with your pickup code.",
    ),
    E.ORDER_PICKED_UP: (
        "订单已取货 / Order picked up",
        "您的订单{number}已取货，感谢惠顾。\nYour order{number} has been picked up. Thank you.",
    ),
    E.BATCH_OPENED: (
        "团购已开团 / Group buy open",
        "团期{title}已开始接受订单。\nThe batch{title} is open for orders.",
    ),
    E.BATCH_CLOSED: ("团购已截单 / Group buy closed", "团期{title}已截单。\nThe batch{title} has closed."),
    E.BATCH_CANCELLED: (
        "团购已取消 / Group buy cancelled",
        "团期{title}已取消，已付款项将退回。{reason}\n"
        "The batch{title} has been cancelled; what was paid will be refunded.",
    ),
    E.PURCHASE_ORDER_CREATED: (
        "新采购单 / New purchase order",
        "您有一张新的采购单{number}，请按时备货发货。\n"
        "You have a new purchase order{number}: please prepare and ship it on time.",
    ),
    E.PICK_LIST_READY: (
        "分拣单已生成 / Pick list ready",
        "自提点{pointName}的分拣单已生成，请查看并准备到货。\n"
        "The pick list for your pickup point{pointName} is ready.",
    ),
    E.REFUND_CREATED: (
        "退款已受理 / Refund created",
        "您的订单{number}有一笔退款{amount}已受理。\nA refund{amount} for your order{number} is on its way.",
    ),
    E.DELIVERY_DISCREPANCY: (
        "到货差异 / Delivery discrepancy",
        "采购单{number}在自提点到货时有缺货或破损，请查看差异报告。\n"
        "Goods of purchase order{number} arrived short or damaged at a pickup point: see its discrepancy report.",
    ),
    E.AFTER_SALES_REQUESTED: (
        "新售后申请 / New after-sales request",
        "您的自提点有一笔新的售后申请，请处理。\nA customer at your pickup point asked for an after-sales refund.",
    ),
    E.AFTER_SALES_APPROVED: (
        "售后已同意 / After-sales approved",
        "您的售后申请已同意，退款（或补偿券）已受理。\n"
        "Your after-sales request was approved; the refund (or coupon) is on its way.",
    ),
    E.AFTER_SALES_REJECTED: (
        "售后未通过 / After-sales rejected",
        "您的售后申请未通过，详情请查看申请。\nYour after-sales request was rejected: see the request for why.",
    ),
    E.AFTER_SALES_CANCELLED: (
        "售后已撤销 / After-sales cancelled",
        "售后申请已撤销。\nThe after-sales request was cancelled.",
    ),
    E.GROUP_OPENED: (
        "拼团已开团 / Group opened",
        "您的拼团已开团，分享给好友一起成团吧。\nYour group is open: share it to fill it.",
    ),
    E.GROUP_SUCCEEDED: (
        "拼团成功 / Group succeeded",
        "拼团成功，订单将随团期一起配送。\nThe group succeeded: the orders go ahead with the batch.",
    ),
    E.GROUP_FAILED: (
        "拼团失败 / Group failed",
        "拼团未能在时限内成团，订单已取消，已付款项将退回。\n"
        "The group did not fill in time: its orders are cancelled and what was paid is refunded.",
    ),
    E.COMMISSION_AVAILABLE: (
        "佣金已可提现 / Commission available",
        "冻结期已过，佣金{amount}已转入可提现余额。\nThe freeze is over: commission{amount} is now available.",
    ),
    E.COMMISSION_CLAWED_BACK: (
        "佣金已扣回 / Commission clawed back",
        "因订单{number}退款，已扣回佣金{amount}。\nA refund of order{number} clawed back commission{amount}.",
    ),
    E.WITHDRAWAL_REQUESTED: (
        "提现申请已提交 / Withdrawal requested",
        "您的提现申请{amount}已提交，等待审核。\nYour withdrawal of{amount} was requested and awaits approval.",
    ),
    E.WITHDRAWAL_APPROVED: (
        "提现已审核通过 / Withdrawal approved",
        "您的提现{amount}已审核通过，等待打款。\nYour withdrawal of{amount} was approved and awaits payment.",
    ),
    E.WITHDRAWAL_REJECTED: (
        "提现被驳回 / Withdrawal rejected",
        "您的提现{amount}被驳回，金额已退回可提现余额。{reason}\n"
        "Your withdrawal of{amount} was rejected; the amount is available again.",
    ),
    E.WITHDRAWAL_PAID: (
        "提现已到账 / Withdrawal paid",
        "您的提现{amount}已打款。\nYour withdrawal of{amount} has been paid.",
    ),
    E.WITHDRAWAL_FAILED: (
        "提现打款失败 / Withdrawal failed",
        "您的提现{amount}打款失败，金额已退回可提现余额。{reason}\n"
        "Paying your withdrawal of{amount} failed; the amount is available again.",
    ),
    E.COUPON_COMPENSATION_GRANTED: (
        "补偿券已发放 / Compensation coupon",
        "除退款外另赠您一张补偿券。\nYou got a compensation coupon on top of the refund.",
    ),
    E.COUPON_INSTEAD_OF_REFUND: (
        "补偿券代替退款 / Coupon instead of a refund",
        "您获得一张补偿券，代替退款。\nYou got a compensation coupon instead of a refund.",
    ),
}
# A sharer's withdrawal reads as a leader's to the person it is about.
TEXTS.update({E(f"SHARER_{e.value}"): TEXTS[e] for e in (
    E.WITHDRAWAL_REQUESTED, E.WITHDRAWAL_APPROVED, E.WITHDRAWAL_REJECTED, E.WITHDRAWAL_PAID, E.WITHDRAWAL_FAILED)})


def _field(payload: dict[str, Any], *keys: str) -> str:
    for key in keys:
        value = payload.get(key)
        if value not in (None, ""):
            return " " + str(value)[:100]
    return ""


def _money(payload: dict[str, Any]) -> str:
    money = payload.get("amount")
    if isinstance(money, dict) and isinstance(money.get("amount"), str) and isinstance(money.get("currency"), str):
        return f" {money['amount']} {money['currency']}"
    minor, currency = payload.get("amountMinor"), payload.get("currency")
    if not isinstance(minor, int) or not isinstance(currency, str):
        return ""
    return f" {from_minor(minor, currency)} {currency}"


def render(event: str, payload: dict[str, Any]) -> tuple[str, str]:
    """(title, body) for one event; unknown payload keys are ignored, missing ones left out."""
    title, body = TEXTS.get(event, (event, event))
    reason = payload.get("reason")
    values = {
        "number": _field(payload, "number", "orderNumber", "order_number", "purchaseOrderNumber"),
        "title": _field(payload, "title", "batchTitle", "batch_title"),
        "pointName": _field(payload, "pointName", "pickupPointName", "pickup_point_name"),
        "amount": _money(payload) or _field(payload, "amount", "refundAmount"),
        "reason": f" 原因 / Reason: {str(reason)[:200]}" if reason else "",
    }
    return title, body.format(**values)
