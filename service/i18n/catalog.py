"""Every text the API sends to people, by message id, in each language it speaks.

A message's texts name their parameters in {braces}. Codes (ErrorCode and the authentication codes)
have a general text each: what a message that is not in the catalog falls back to.
"""

from __future__ import annotations

LANGUAGES = ("zh-CN", "en")

# message id -> language -> text
MESSAGES: dict[str, dict[str, str]] = {
    # -- sign-in and permissions
    "auth.sign_in_first": {"en": "Sign in first.", "zh-CN": "请先登录。"},
    "auth.not_allowed": {"en": "You are not allowed to do this.", "zh-CN": "您没有权限执行此操作。"},
    "auth.customer_first": {"en": "Sign in as a customer first.", "zh-CN": "请先以顾客身份登录。"},
    "auth.leader_only": {"en": "Only an approved leader can do this.", "zh-CN": "只有已通过审核的团长可以执行此操作。"},
    "auth.one_sign_in": {"en": "One sign-in or registration per request; send the others apart.",
                         "zh-CN": "每个请求只能登录或注册一次，请分开发送。"},
    "auth.bearer": {"en": "Authorization must be 'Bearer <token>'.", "zh-CN": "Authorization 必须是 'Bearer <令牌>'。"},
    "auth.token_invalid": {"en": "The token is not valid.", "zh-CN": "登录凭证无效，请重新登录。"},
    "auth.token_expired": {"en": "The token has expired; sign in again.", "zh-CN": "登录已过期，请重新登录。"},
    "auth.password_changed": {"en": "The password was changed; sign in again.", "zh-CN": "密码已修改，请重新登录。"},
    "auth.account_gone": {"en": "The account behind this token no longer exists or is disabled.",
                          "zh-CN": "此登录对应的账号已不存在或已停用。"},
    "auth.platform_token": {"en": "The platform token is not valid.", "zh-CN": "平台令牌无效。"},
    "auth.tenant_gone": {"en": "The token's tenant no longer exists.", "zh-CN": "此登录所属的团购平台已不存在。"},
    "auth.api_key_invalid": {"en": "The API key is not valid.", "zh-CN": "API 密钥无效。"},
    "auth.api_key_revoked": {"en": "The API key has been revoked.", "zh-CN": "API 密钥已被吊销。"},
    "auth.tenant_required": {"en": "This request names no tenant: send a token or the 'X-Tenant: <slug>' header.",
                             "zh-CN": "请求未指明团购平台：请登录，或发送 'X-Tenant: <平台标识>' 请求头。"},
    "auth.no_tenant": {"en": "No tenant{named}.", "zh-CN": "找不到该团购平台{named}。"},
    "auth.wrong_credentials": {"en": "Wrong login or password.", "zh-CN": "手机号/邮箱或密码错误。"},
    "auth.pick_list_own": {"en": "Only this pickup point's leader and admins see its pick list.",
                           "zh-CN": "只有此自提点的团长和管理员可以查看分拣单。"},
    "auth.commissions_own": {"en": "A leader sees only their own commissions.", "zh-CN": "团长只能查看自己的佣金。"},
    "auth.points_own_create": {"en": "A leader creates pickup points for themself only.",
                               "zh-CN": "团长只能为自己创建自提点。"},
    "auth.points_own_update": {"en": "A leader updates their own pickup points only.",
                               "zh-CN": "团长只能修改自己的自提点。"},
    "auth.points_own_deactivate": {"en": "A leader deactivates their own pickup points only.",
                                   "zh-CN": "团长只能停用自己的自提点。"},
    "auth.invite_code_own": {"en": "Only the group's leader and administrators see its invite code.",
                             "zh-CN": "只有社群的团长和管理员可以查看邀请码。"},
    # -- pickup at the counter
    "pickup.too_many_wrong": {"en": "Too many wrong pickup codes; wait a few minutes.",
                              "zh-CN": "取货码错误次数过多，请几分钟后再试。"},
    "pickup.unavailable": {"en": "Pickup codes cannot be checked right now; try again in a minute.",
                           "zh-CN": "暂时无法校验取货码，请一分钟后再试。"},
    "pickup.no_point": {"en": "No such pickup point.", "zh-CN": "找不到该自提点。"},
    "pickup.not_your_point": {"en": "Only this pickup point's leader confirms pickups here.",
                              "zh-CN": "只有此自提点的团长可以在这里核销。"},
    "pickup.no_order": {"en": "No order with this pickup code at this pickup point.",
                        "zh-CN": "此自提点没有使用该取货码的订单。"},
    "pickup.not_arrived": {"en": "The goods of this order have not arrived yet: confirm their delivery on the "
                                 "pick list first.",
                           "zh-CN": "此订单的货物还没有到达自提点：请先在分拣单上确认到货。"},
    "pickup.not_ready": {"en": "This order is not ready for pickup yet (its batch has not closed).",
                         "zh-CN": "此订单还不能取货（团期尚未截单）。"},
    "pickup.cancelled_meanwhile": {"en": "This order was cancelled while being confirmed.",
                                   "zh-CN": "此订单在核销过程中被取消了。"},
    "pickup.orders_required": {"en": "Name at least one order.", "zh-CN": "请至少选择一个订单。"},
    "pickup.too_many_orders": {"en": "At most {max} orders at once.", "zh-CN": "一次最多核销 {max} 个订单。"},
    "pickup.order_not_ready": {"en": "Order {number} is not ready for pickup at this point.",
                               "zh-CN": "订单 {number} 目前不能在此自提点取货。"},
    "pickup.reminded_recently": {"en": "Reminders were sent recently; try again in {minutes} minutes.",
                                 "zh-CN": "刚刚已经提醒过，请 {minutes} 分钟后再试。"},
    "orders.phone_tail": {"en": "Give the last four digits of the phone number.", "zh-CN": "请输入手机号后四位。"},
    "orders.sequence": {"en": "A batch sequence is a whole number from 1, given with batchId.",
                        "zh-CN": "跟团号是从 1 开始的整数，并且需要同时指定团期。"},
    # -- orders
    "orders.no_order": {"en": "No such order.", "zh-CN": "找不到该订单。"},
    "orders.no_batch": {"en": "No such batch.", "zh-CN": "找不到该团期。"},
    "orders.no_offer": {"en": "No such offer in this batch.", "zh-CN": "此团期没有该商品。"},
    "orders.need_line": {"en": "An order needs at least one line.", "zh-CN": "订单至少需要一件商品。"},
    "orders.idempotency_key": {"en": "Give an idempotency key of 1 to 200 characters.",
                               "zh-CN": "请提供 1 到 200 个字符的幂等键。"},
    "orders.batch_closed_meanwhile": {"en": "The batch closed before the order went through.",
                                      "zh-CN": "下单完成前团期已截单。"},
    "orders.total_too_large": {"en": "The order's total is too large: order fewer units.",
                               "zh-CN": "订单金额过大，请减少数量。"},
    "orders.cutoff_passed": {"en": "The batch's cutoff has passed: orders can no longer be cancelled.",
                             "zh-CN": "团期已截单，订单不能再取消。"},
    "orders.paid_elsewhere": {"en": "This order was already paid with another payment reference.",
                              "zh-CN": "此订单已用另一笔付款支付。"},
    "orders.cancelled_refund": {"en": "This order was cancelled (unpaid in time, or by its customer); refund the "
                                      "payment.",
                                "zh-CN": "此订单已取消（未按时付款或顾客取消），请退回付款。"},
    "orders.no_line": {"en": "No such line in this order.", "zh-CN": "此订单中没有该商品行。"},
    "orders.line_refunded": {"en": "This line was already refunded or cancelled.", "zh-CN": "此商品行已退款或已取消。"},
    "orders.name_a_line": {"en": "Name at least one line.", "zh-CN": "请至少选择一行。"},
    # -- purchase orders and pick lists
    "procurement.no_purchase_order": {"en": "No such purchase order.", "zh-CN": "找不到该采购单。"},
    "procurement.purchase_orders_own": {"en": "Purchase orders are for admins and the supplier's own staff.",
                                        "zh-CN": "采购单仅供管理员和该供应商的员工查看。"},
    "catalog.no_supplier": {"en": "No such supplier.", "zh-CN": "找不到该供应商。"},
    "catalog.no_product": {"en": "No such product.", "zh-CN": "找不到该商品。"},
    "catalog.required": {"en": "This field is required.", "zh-CN": "请填写此项。"},
    "catalog.not_a_supplier": {"en": "This account belongs to no supplier.", "zh-CN": "此账号不属于任何供应商。"},
    # -- compensation by coupon (service/aftersales/compensation.py)
    "compensation.no_template": {"en": "No compensation coupon template is set.",
                                 "zh-CN": "尚未设置补偿券模板。"},
    "compensation.ended": {"en": "The compensation coupon template no longer hands coupons out.",
                           "zh-CN": "补偿券模板已停止发放。"},
    "compensation.exhausted": {"en": "The compensation coupons have run out (quantity or budget).",
                               "zh-CN": "补偿券已发完（数量或预算已用尽）。"},
    "compensation.failed": {"en": "No compensation coupon could be granted.", "zh-CN": "未能发放补偿券。"},
    "compensation.template_first": {"en": "Set compensationCouponTemplateId to compensate by coupon.",
                                    "zh-CN": "请先设置补偿券模板（compensationCouponTemplateId），才能以优惠券补偿。"},
    "compensation.choose_mode": {"en": "Choose how to compensate with this coupon template.",
                                 "zh-CN": "请选择使用此优惠券模板的补偿方式。"},
    "compensation.admins_only": {"en": "Only admins choose how an after-sales request is compensated.",
                                 "zh-CN": "只有管理员可以选择售后申请的补偿方式。"},
    "coupons.template_not_handing_out": {"en": "This coupon template no longer hands coupons out.",
                                         "zh-CN": "该优惠券模板已停止发放。"},
    "coupons.budget_spent": {"en": "This coupon template's budget is spent.", "zh-CN": "该优惠券模板的预算已用完。"},
    # -- share links and 拼团 (service/growth, service/groupbuys)
    "growth.visits_limited": {"en": "Too many visits of this link from your address; try again in about "
                                    "{minutes} min.",
                              "zh-CN": "此链接在您的网络上访问次数过多，请约 {minutes} 分钟后再试。"},
    "groupbuys.cancel_succeeded": {"en": "Your group buy has formed: its orders can no longer be cancelled. "
                                         "After pickup, ask for an after-sales refund.",
                                   "zh-CN": "您的拼团已成团，订单不能再取消；取货后可申请售后退款。"},
    # -- leader money (service/ledger/operations.py)
    "ledger.account_short": {"en": "The account is too short.", "zh-CN": "收款账号太短。"},
    "ledger.below_minimum": {"en": "Below the minimum withdrawal of {minimum} {currency}.",
                             "zh-CN": "低于最低提现金额 {minimum} {currency}。"},
    "ledger.fee_takes_all": {"en": "The fee would take the whole amount.", "zh-CN": "手续费不少于提现金额，无法提现。"},
    "ledger.withdrawal_open": {"en": "A withdrawal is already open: wait for it to be paid or rejected.",
                               "zh-CN": "已有一笔提现在处理中，请等它打款或被驳回后再申请。"},
    "ledger.daily_limit": {"en": "At most {limit} withdrawal request(s) a day.",
                           "zh-CN": "每天最多申请提现 {limit} 次，请明天再试。"},
    "ledger.over_available": {"en": "More than the available balance of {available} {currency}.",
                              "zh-CN": "超过可提现余额 {available} {currency}。"},
    "ledger.no_withdrawal": {"en": "No such withdrawal.", "zh-CN": "没有这笔提现。"},
    "ledger.cannot_approve": {"en": "A {status} withdrawal cannot be approved.",
                              "zh-CN": "这笔提现当前的状态（{status}）不能审核通过。"},
    "ledger.cannot_reject": {"en": "A {status} withdrawal cannot be rejected.",
                             "zh-CN": "这笔提现当前的状态（{status}）不能驳回。"},
    "ledger.cannot_pay": {"en": "A {status} withdrawal cannot be marked paid.",
                          "zh-CN": "这笔提现当前的状态（{status}）不能标记为已打款。"},
    "ledger.cannot_fail": {"en": "A {status} withdrawal cannot be marked failed.",
                           "zh-CN": "这笔提现当前的状态（{status}）不能标记为打款失败。"},
    "ledger.reference_taken": {"en": "This payout reference belongs to another withdrawal.",
                               "zh-CN": "这个打款流水号已属于另一笔提现。"},
    "ledger.adjust_zero": {"en": "An adjustment is not zero.", "zh-CN": "调整金额不能为零。"},
    # -- shortages, receiving, refunds by quantity and after-sales (service/aftersales)
    "aftersales.no_coupon_template": {"en": "No such coupon template.", "zh-CN": "找不到该优惠券模板。"},
    "aftersales.photo_link": {"en": "A photo must be an https:// link of at most 500 characters.",
                              "zh-CN": "照片须为 https:// 链接，且不超过 500 个字符。"},
    "aftersales.photos_max": {"en": "At most {max} photos.", "zh-CN": "最多 {max} 张照片。"},
    "aftersales.nothing_to_receive": {"en": "Nothing to receive: this batch has no pick list for this point (not "
                                            "closed yet, or no order here).",
                                      "zh-CN": "没有可收的货：此批次在该自提点没有分拣单"
                                               "（尚未截单，或此处没有订单）。"},
    "aftersales.not_sent_here": {"en": "Nothing of this product was sent to this pickup point.",
                                 "zh-CN": "此商品没有发往该自提点。"},
    "aftersales.product_once": {"en": "Give each product once.", "zh-CN": "每种商品只能填写一次。"},
    "aftersales.received_range": {"en": "Between 0 and the {n} unit(s) shipped.",
                                  "zh-CN": "须在 0 到发货的 {n} 件之间。"},
    "aftersales.damaged_range": {"en": "Between 0 and the units received.", "zh-CN": "须在 0 到到货件数之间。"},
    "aftersales.confirmed_otherwise": {"en": "This delivery was already confirmed with other quantities.",
                                       "zh-CN": "此到货已按其他件数确认过。"},
    "aftersales.closed_batch_only": {"en": "Only orders of a closed batch are refunded this way; cancel open orders "
                                           "instead.",
                                     "zh-CN": "只有已截单批次的订单可以这样退款；未截单的订单请直接取消。"},
    "aftersales.refund_one": {"en": "Refund at least one unit.", "zh-CN": "请至少退款 1 件。"},
    "aftersales.left_to_refund": {"en": "Only {n} unit(s) of this line are left to refund.",
                                  "zh-CN": "此商品行只剩 {n} 件可退款。"},
    "aftersales.time_zone": {"en": "Give a time zone.", "zh-CN": "请带上时区。"},
    "aftersales.report_range": {"en": "since must be before until, at most {days} days apart.",
                                "zh-CN": "since 须早于 until，且相隔不超过 {days} 天。"},
    "aftersales.ask_one": {"en": "Ask for at least one unit.", "zh-CN": "请至少申请 1 件。"},
    "aftersales.no_line": {"en": "No such order line.", "zh-CN": "找不到该商品行。"},
    "aftersales.picked_up_only": {"en": "After-sales requests are for orders already picked up.",
                                  "zh-CN": "只有已提货的订单可以申请售后。"},
    "aftersales.window_over": {"en": "The {hours} h after pickup for after-sales requests are over.",
                               "zh-CN": "已超过提货后 {hours} 小时的售后申请期限。"},
    "aftersales.open_request": {"en": "This line already has an open after-sales request.",
                                "zh-CN": "此商品行已有一个待处理的售后申请。"},
    "aftersales.no_request": {"en": "No such after-sales request.", "zh-CN": "找不到该售后申请。"},
    "aftersales.transition": {"en": "A {status} after-sales request cannot become {to}.",
                              "zh-CN": "状态为 {status} 的售后申请不能改为 {to}。"},
    "aftersales.approve_range": {"en": "Approve between 1 and the {n} unit(s) asked for.",
                                 "zh-CN": "同意的件数须在 1 到申请的 {n} 件之间。"},
    "aftersales.not_that_many": {"en": "Not that many units of this line are left to refund.",
                                 "zh-CN": "此商品行剩余可退款的件数不足。"},
    "aftersales.not_to_point": {"en": "This purchase order sends nothing to this pickup point.",
                                "zh-CN": "此采购单没有发往该自提点的货。"},
    "aftersales.not_on_order": {"en": "This product is not on this purchase order.", "zh-CN": "此商品不在该采购单上。"},
    "aftersales.product_not_to_point": {"en": "This purchase order sends nothing of this product to this pickup "
                                              "point.",
                                        "zh-CN": "此采购单没有把该商品发往该自提点。"},
    "aftersales.product_once_or_points": {"en": "Give each product once: either in all or per pickup point.",
                                          "zh-CN": "每种商品只能填写一次：要么填总数，要么按自提点分别填写。"},
    "aftersales.shipped_range": {"en": "Between 0 and the {n} unit(s) ordered.",
                                 "zh-CN": "须在 0 到订购的 {n} 件之间。"},
    "aftersales.shipped_otherwise": {"en": "This purchase order was already shipped with other quantities.",
                                     "zh-CN": "此采购单已按其他件数发货。"},
    "aftersales.received_already": {"en": "Goods of this purchase order were already received at a pickup point: "
                                          "differences are reported there (deliveryConfirm).",
                                    "zh-CN": "此采购单的货已在自提点签收：差异请在自提点报告（deliveryConfirm）。"},
    # -- new-customer coupons, at the claim and again at use (service/coupons/sql/coupon_apply.sql)
    "coupons.new_customers_only": {"en": "This coupon is for new customers only.",
                                   "zh-CN": "该优惠券仅限新顾客领取。"},
    "coupons.not_first_order": {"en": "This coupon is for new customers only, and this is not your first order.",
                                "zh-CN": "该优惠券仅限新顾客首单使用，此订单不是您的首单。"},
    "languages.choose": {"en": "Choose zh-CN or en.", "zh-CN": "请选择 zh-CN（中文）或 en（英文）。"},
    "coupons.not_valid_yet": {"en": "This coupon is not valid yet.", "zh-CN": "该优惠券尚未到可用时间。"},
    "coupons.ordered_since": {"en": "For a first order only: you have ordered since you got it, so it can no "
                                    "longer be used.",
                              "zh-CN": "仅限首单使用：您领取后已经下过单，此券已不能再用。"},
}

# The general text of each code: shown when a message has no text in the catalog.
CODES: dict[str, dict[str, str]] = {
    "INVALID": {"en": "The input is not valid.", "zh-CN": "输入的内容无效。"},
    "NOT_FOUND": {"en": "Not found.", "zh-CN": "找不到该对象。"},
    "FORBIDDEN": {"en": "You are not allowed to do this.", "zh-CN": "您没有权限执行此操作。"},
    "CONFLICT": {"en": "This cannot be done in the current state.", "zh-CN": "当前状态下不能执行此操作。"},
    "ALREADY_EXISTS": {"en": "This already exists.", "zh-CN": "已存在。"},
    "BATCH_NOT_OPEN": {"en": "The batch is not open for orders.", "zh-CN": "该团期当前不接受下单。"},
    "OUT_OF_STOCK": {"en": "Not enough stock left.", "zh-CN": "库存不足。"},
    "LIMIT_EXCEEDED": {"en": "Over the limit per customer.", "zh-CN": "超出每人限购数量。"},
    "INVALID_CREDENTIALS": {"en": "Wrong login or password.", "zh-CN": "手机号/邮箱或密码错误。"},
    "RATE_LIMITED": {"en": "Too many attempts; try again later.", "zh-CN": "尝试次数过多，请稍后再试。"},
    "NOT_ARRIVED": {"en": "The goods have not arrived at the pickup point yet.", "zh-CN": "货物还没有到达自提点。"},
    "GROUP_FULL": {"en": "This group is full: start a new one.", "zh-CN": "该拼团已满，请发起新的拼团。"},
    "COUPON_EXHAUSTED": {"en": "These coupons are all gone.", "zh-CN": "优惠券已领完。"},
    "COUPON_LIMIT_REACHED": {"en": "You already hold as many of these coupons as allowed.",
                             "zh-CN": "您已达到该优惠券的领取上限。"},
    "COUPON_NOT_APPLICABLE": {"en": "This coupon does not apply to this order.", "zh-CN": "该优惠券不适用于此订单。"},
    "COUPON_EXPIRED": {"en": "This coupon has expired or was ended.", "zh-CN": "该优惠券已过期或已停用。"},
    "INSUFFICIENT_BALANCE": {"en": "The available balance is not enough.", "zh-CN": "可提现余额不足。"},
    # authentication and tenant codes (GraphQL errors' extensions.code)
    "INVALID_TOKEN": {"en": "The token is not valid.", "zh-CN": "登录凭证无效，请重新登录。"},
    "TOKEN_EXPIRED": {"en": "The token has expired; sign in again.", "zh-CN": "登录已过期，请重新登录。"},
    "INVALID_API_KEY": {"en": "The API key is not valid.", "zh-CN": "API 密钥无效。"},
    "API_KEY_REVOKED": {"en": "The API key has been revoked.", "zh-CN": "API 密钥已被吊销。"},
    "UNKNOWN_TENANT": {"en": "No such tenant.", "zh-CN": "找不到该团购平台。"},
    "TENANT_REQUIRED": {"en": "This request names no tenant.", "zh-CN": "请求未指明团购平台。"},
    "UNAUTHENTICATED": {"en": "Sign in first.", "zh-CN": "请先登录。"},
    "BAD_REQUEST": {"en": "The request is not valid.", "zh-CN": "请求无效。"},
    "INTERNAL": {"en": "Something went wrong on our side.", "zh-CN": "服务器内部出错。"},
}

# Words a message may carry as a parameter (a status), in each language.
WORDS: dict[str, dict[str, str]] = {
    "DRAFT": {"en": "DRAFT", "zh-CN": "草稿"},
    "SCHEDULED": {"en": "SCHEDULED", "zh-CN": "待开团"},
    "OPEN": {"en": "OPEN", "zh-CN": "进行中"},
    "CLOSED": {"en": "CLOSED", "zh-CN": "已截单"},
    "COMPLETED": {"en": "COMPLETED", "zh-CN": "已完成"},
    "CANCELLED": {"en": "CANCELLED", "zh-CN": "已取消"},
    "PLACED": {"en": "PLACED", "zh-CN": "已下单"},
    "PAID": {"en": "PAID", "zh-CN": "已付款"},
    "READY_FOR_PICKUP": {"en": "READY_FOR_PICKUP", "zh-CN": "待取货"},
    "PICKED_UP": {"en": "PICKED_UP", "zh-CN": "已取货"},
    "REFUNDED": {"en": "REFUNDED", "zh-CN": "已退款"},
}

# Notification templates: event (template id) -> language -> (title, body). Parameters: {number}
# (order or purchase order), {batch} (the batch's title), {point} (the pickup point's name),
# {amount}, {reason}; a missing one is left out with the words around it in its own template.
NOTIFICATIONS: dict[str, dict[str, tuple[str, str]]] = {
    "ORDER_PLACED": {
        "zh-CN": ("订单已提交", "您的订单 {number} 已提交。"),
        "en": ("Order placed", "Your order {number} has been placed."),
    },
    "ORDER_PAID": {
        "zh-CN": ("订单已支付", "您的订单 {number} 已支付成功。"),
        "en": ("Order paid", "Your order {number} has been paid."),
    },
    "ORDER_CANCELLED": {
        "zh-CN": ("订单已取消", "您的订单 {number} 已取消。{reason}"),
        "en": ("Order cancelled", "Your order {number} has been cancelled.{reason}"),
    },
    "ORDER_READY_FOR_PICKUP": {
        "zh-CN": ("订单已可取货", "您的订单 {number} 已到货，请凭取货码到自提点「{point}」取货。"),
        "en": ("Order ready for pickup", "Your order {number} has arrived: collect it at {point} with your "
                                         "pickup code."),
    },
    "ORDER_PICKED_UP": {
        "zh-CN": ("订单已取货", "您的订单 {number} 已取货，感谢惠顾。"),
        "en": ("Order picked up", "Your order {number} has been picked up. Thank you."),
    },
    "BATCH_OPENED": {
        "zh-CN": ("团购已开团", "团期「{batch}」已开始接受订单。"),
        "en": ("Group buy open", "The batch “{batch}” is open for orders."),
    },
    "BATCH_CLOSED": {
        "zh-CN": ("团购已截单", "团期「{batch}」已截单。"),
        "en": ("Group buy closed", "The batch “{batch}” has closed."),
    },
    "BATCH_CANCELLED": {
        "zh-CN": ("团购已取消", "团期「{batch}」已取消，已付款项将退回。{reason}"),
        "en": ("Group buy cancelled", "The batch “{batch}” has been cancelled; what was paid will be refunded."
                                      "{reason}"),
    },
    "PURCHASE_ORDER_CREATED": {
        "zh-CN": ("新采购单", "您有一张新的采购单 {number}（团期「{batch}」），请按时备货发货。"),
        "en": ("New purchase order", "You have a new purchase order {number} (batch “{batch}”): please prepare "
                                     "and ship it on time."),
    },
    "PICK_LIST_READY": {
        "zh-CN": ("分拣单已生成", "团期「{batch}」在自提点「{point}」的分拣单已生成，请查看并准备到货。"),
        "en": ("Pick list ready", "The pick list of batch “{batch}” for {point} is ready."),
    },
    "REFUND_CREATED": {
        "zh-CN": ("退款已受理", "您的订单 {number} 有一笔退款 {amount} 已受理。"),
        "en": ("Refund created", "A refund of {amount} for your order {number} is on its way."),
    },
    "PICKUP_REMINDER": {
        "zh-CN": ("请尽快取货", "您在自提点「{point}」有 {count} 个订单待取货，请尽快取货。"),
        "en": ("Please pick up your order", "Your orders at {point} are waiting for you ({count}): please pick them "
                                            "up."),
    },
    "DELIVERY_DISCREPANCY": {
        "zh-CN": ("到货差异", "采购单 {number} 在自提点「{point}」到货时有缺货或破损，请查看差异报告。"),
        "en": ("Delivery discrepancy", "Goods of purchase order {number} arrived short or damaged at {point}: see its "
                                       "discrepancy report."),
    },
    "AFTER_SALES_REQUESTED": {
        "zh-CN": ("新售后申请", "自提点「{point}」有一笔订单 {number} 的售后申请，请处理。"),
        "en": ("New after-sales request", "A customer at {point} asked for a refund on order {number}."),
    },
    "AFTER_SALES_APPROVED": {
        "zh-CN": ("售后已同意", "您的订单 {number} 的售后申请已同意，退款（或补偿券）已受理。"),
        "en": ("After-sales approved", "Your after-sales request on order {number} was approved; the refund (or "
                                       "coupon) is on its way."),
    },
    "AFTER_SALES_REJECTED": {
        "zh-CN": ("售后未通过", "您的订单 {number} 的售后申请未通过。{reason}"),
        "en": ("After-sales rejected", "Your after-sales request on order {number} was rejected.{reason}"),
    },
    "COMMISSION_AVAILABLE": {
        "zh-CN": ("佣金可提现", "冻结期已过，佣金 {amount} 已转入可提现余额。"),
        "en": ("Commission available", "The freeze is over: commission of {amount} is now available to withdraw."),
    },
    "COMMISSION_CLAWED_BACK": {
        "zh-CN": ("佣金已扣回", "因订单 {number} 退款，已扣回佣金 {amount}。"),
        "en": ("Commission clawed back", "A refund of order {number} took back commission of {amount}."),
    },
    "WITHDRAWAL_REQUESTED": {
        "zh-CN": ("提现申请已提交", "您的提现申请 {amount} 已提交，等待审核。"),
        "en": ("Withdrawal requested", "Your withdrawal of {amount} was requested and awaits approval."),
    },
    "WITHDRAWAL_APPROVED": {
        "zh-CN": ("提现已审核通过", "您的提现 {amount} 已审核通过，等待打款。"),
        "en": ("Withdrawal approved", "Your withdrawal of {amount} was approved and awaits payment."),
    },
    "WITHDRAWAL_REJECTED": {
        "zh-CN": ("提现被驳回", "您的提现 {amount} 被驳回，金额已退回可提现余额。{reason}"),
        "en": ("Withdrawal rejected", "Your withdrawal of {amount} was rejected; the amount is available again."
                                      "{reason}"),
    },
    "WITHDRAWAL_PAID": {
        "zh-CN": ("提现已打款", "您的提现 {amount} 已打款。"),
        "en": ("Withdrawal paid", "Your withdrawal of {amount} has been paid."),
    },
    "WITHDRAWAL_FAILED": {
        "zh-CN": ("提现打款失败", "您的提现 {amount} 打款失败，金额已退回可提现余额。{reason}"),
        "en": ("Withdrawal failed", "Paying your withdrawal of {amount} failed; the amount is available again."
                                    "{reason}"),
    },
    "GROUP_OPENED": {
        "zh-CN": ("拼团已开团", "团期「{batch}」的拼团已开团，分享给好友一起成团吧。"),
        "en": ("Group opened", "Your group in the batch “{batch}” is open: share it to fill it."),
    },
    "GROUP_SUCCEEDED": {
        "zh-CN": ("拼团成功", "团期「{batch}」的拼团已成团，订单将随团期在自提点「{point}」取货。"),
        "en": ("Group succeeded", "Your group in the batch “{batch}” succeeded: collect the order at {point} with "
                                  "the batch."),
    },
    "GROUP_FAILED": {
        "zh-CN": ("拼团失败", "团期「{batch}」的拼团未能在时限内成团，订单已取消，已付款项将退回。"),
        "en": ("Group failed", "Your group in the batch “{batch}” did not fill in time: the order is cancelled and "
                               "what was paid is refunded."),
    },
    "AFTER_SALES_CANCELLED": {
        "zh-CN": ("售后已撤销", "订单 {number} 的售后申请已撤销。"),
        "en": ("After-sales cancelled", "The after-sales request on order {number} was cancelled."),
    },
    "COUPON_COMPENSATION_GRANTED": {
        "zh-CN": ("补偿券已发放", "因订单 {number} 缺货、破损或售后，除退款外另赠您一张补偿券，已放入您的优惠券。"),
        "en": ("Compensation coupon", "For the shortage, damage or after-sales on order {number} you get a coupon on "
                                      "top of the refund: it is in your coupons."),
    },
    "COUPON_INSTEAD_OF_REFUND": {
        "zh-CN": ("补偿券代替退款", "订单 {number} 缺货、破损或售后的部分以补偿券代替退款，补偿券已放入您的优惠券。"),
        "en": ("Coupon instead of a refund", "For the shortage, damage or after-sales on order {number} you get a "
                                             "coupon instead of a refund: it is in your coupons."),
    },
}

# A reason, when an event carries one.
REASON = {"zh-CN": " 原因：{reason}", "en": " Reason: {reason}"}

# Leader and sharer money: the plain-English errors service/schema/ledger.py raises (translated by
# their English text), and a sharer's withdrawal events (the leaders' texts).
MESSAGES.update({
    "ledger.leader_withdraws": {"en": "Only an approved leader withdraws.", "zh-CN": "只有已通过审核的团长可以提现。"},
    "ledger.leader_uses_own": {"en": "A leader withdraws with withdrawalRequest.",
                               "zh-CN": "团长请在团长端申请提现（withdrawalRequest）。"},
    "ledger.leaders_and_admins": {"en": "Leader money is for leaders (their own) and admins.",
                                  "zh-CN": "团长资金只有团长本人和管理员可以查看。"},
    "ledger.own_money": {"en": "A leader sees only their own money.", "zh-CN": "团长只能查看自己的资金。"},
    "ledger.name_leader": {"en": "Admins name the leader (leaderId).", "zh-CN": "管理员请指定团长（leaderId）。"},
    "ledger.month_format": {"en": "A month is YYYY-MM.", "zh-CN": "月份的格式是 YYYY-MM（例如 2026-12）。"},
    "ledger.positive_amount": {"en": "A positive amount with the currency's decimals.",
                               "zh-CN": "请输入大于零的金额，小数位数不超过币种的位数。"},
    "ledger.no_leader": {"en": "No such leader.", "zh-CN": "没有这个团长。"},
    "ledger.no_sharer": {"en": "No such sharer.", "zh-CN": "没有这个分享者。"},
})
NOTIFICATIONS.update({f"SHARER_{e}": NOTIFICATIONS[e] for e in (
    "WITHDRAWAL_REQUESTED", "WITHDRAWAL_APPROVED", "WITHDRAWAL_REJECTED", "WITHDRAWAL_PAID", "WITHDRAWAL_FAILED")})
