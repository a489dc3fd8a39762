// zh-CN and English. The customer's choice (the switch in the menu) wins, then the browser's language.
import { prefs } from './api.js';

const STRINGS = {
  'zh-CN': {
    'nav.shop': '团购', 'nav.orders': '我的订单', 'nav.account': '登录', 'nav.signOut': '退出', 'nav.lang': 'English',
    'points.title': '选择自提点', 'points.intro': '选择离您最近的团长自提点，到货后凭提货码取货。',
    'points.none': '暂时没有开放的自提点。', 'points.leader': '团长：{name}', 'points.choose': '在此自提',
    'shop.point': '自提点：{name}', 'shop.change': '更换', 'shop.none': '当前没有进行中的团购，请稍后再来。',
    'shop.closes': '截单 {time}', 'shop.pickup': '提货日 {date}', 'shop.left': '剩 {n} 件', 'shop.soldOut': '已售罄',
    'shop.total': '合计 {amount}', 'shop.order': '提交订单', 'shop.empty': '请先选择商品数量。',
    'shop.more': '加一件 {name}', 'shop.less': '减一件 {name}', 'shop.signInFirst': '下单前请先登录或注册。',
    'account.title': '登录 / 注册', 'account.signIn': '登录', 'account.register': '注册新账号',
    'account.phone': '手机号', 'account.password': '密码', 'account.name': '称呼',
    'account.wrong': '手机号或密码错误。', 'account.busy': '请稍候…',
    'order.title': '订单 {number}', 'order.point': '自提点', 'order.total': '合计',
    'order.payTitle': '支付', 'order.prepaid': '此处由品牌方的支付服务（如微信支付）接管：顾客在其中付款，品牌方后端收到支付通知后，用租户的 API 密钥调用 orderMarkPaid 确认。',
    'order.payWindow': '请在 {minutes} 分钟内完成支付，否则订单将自动取消。',
    'order.devPay': '模拟支付成功（仅开发环境）', 'order.devPayNote': '开发环境的“品牌后端”替身：它代表支付通知调用 orderMarkPaid。',
    'order.atPickup': '到店自提时付款。', 'order.paid': '已支付',
    'order.code': '提货码', 'order.codeHint': '取货时向团长出示此二维码或提货码。',
    'order.toOrders': '查看我的订单',
    'orders.title': '我的订单', 'orders.none': '还没有订单。', 'orders.open': '查看',
    'join.title': '加入社群', 'join.body': '您收到了团长的社群邀请，邀请码：', 'join.submit': '加入社群',
    'join.done': '已加入“{name}”。', 'join.signIn': '请先登录或注册，再加入社群。', 'join.shop': '去团长的自提点下单',
    'join.leader': '团长：{name}', 'join.point': '自提点：{name}', 'join.frontEnd': '进入商城',
    'status.PENDING_PAYMENT': '待支付', 'status.PAID': '已支付', 'status.PLACED': '已下单', 'status.CONFIRMED': '已成团',
    'status.READY_FOR_PICKUP': '待提货', 'status.PICKED_UP': '已提货', 'status.CANCELLED': '已取消',
    'error.network': '网络连接失败，请稍后重试。', 'error.UNAUTHENTICATED': '登录已过期，请重新登录。',
    'error.other': '出错了：{message}', 'common.loading': '加载中…',
    // UserError codes (the API's messages are in English; a storefront shows its own text per code).
    'code.INVALID': '请检查填写的内容。', 'code.NOT_FOUND': '找不到该内容。', 'code.FORBIDDEN': '没有权限。',
    'code.CONFLICT': '状态已变化，请刷新后重试。', 'code.ALREADY_EXISTS': '该手机号已注册，请直接登录。',
    'code.BATCH_NOT_OPEN': '本期团购已截单。', 'code.OUT_OF_STOCK': '库存不足。', 'code.LIMIT_EXCEEDED': '超过限购数量。',
    'code.INVALID_CREDENTIALS': '手机号或密码错误。', 'code.RATE_LIMITED': '尝试次数过多，请稍后再试。',
    'code.GROUP_FULL': '这个团已满，可以自己发起一个新团。',
    'group.size': '{n}人团', 'group.start': '发起拼团', 'group.join': '参加拼团', 'group.share': '邀请好友参团',
    'group.title': '拼团：{name}', 'group.members': '已付款 {paid}/{size} 人', 'group.ends': '{time} 截止',
    'group.virtual': '（未满员，按商家规则成团）',
    'group.status.OPEN': '拼团中', 'group.status.SUCCEEDED': '拼团成功', 'group.status.FAILED': '拼团失败，已退款',
    'group.shareHint': '把链接或二维码发给好友：好友付款后即可成团。', 'group.shareLink': '拼团链接',
    'group.copy': '复制链接', 'group.copied': '已复制', 'group.startNew': '自己发起一个新的拼团',
    'nav.share': '分享', 'share.title': '分享赚佣金',
    'share.intro': '把团购链接发给邻居和朋友：他们通过您的链接注册或首次下单后，会绑定到您；商家开启分销时，他们的订单给您佣金。',
    'share.make': '生成我的分享链接', 'share.hint': '发到群里或发给好友，也可以让对方扫二维码。', 'share.link': '我的分享链接',
    'share.poster': '查看分享海报', 'share.earnings': '我的佣金', 'share.totals': '待确认 {pending} · 已入账 {earned}',
    'share.referrals': '我推荐的人', 'share.noReferrals': '还没有人通过您的链接绑定。',
    'share.level1': '直接推荐', 'share.level2': '间接推荐', 'share.referral': '{orders} 单 · 佣金 {commission}',
    'share.status.PENDING': '待确认', 'share.status.EARNED': '已入账', 'share.status.REVERSED': '已退款冲回',
    'nav.coupons': '优惠券', 'coupons.title': '我的优惠券', 'coupons.none': '还没有优惠券。',
    'coupons.amountOff': '减 {amount}', 'coupons.percentOff': '{percent}% 折扣', 'coupons.over': '满 {amount} ',
    'coupons.until': '{time} 到期', 'coupons.newCustomers': '新人专享',
    'coupons.status.AVAILABLE': '可用', 'coupons.status.UNUSABLE': '不可用', 'coupons.status.RESERVED': '订单占用中',
    'coupons.status.USED': '已使用', 'coupons.status.EXPIRED': '已过期',
    'wallet.title': '我的佣金钱包', 'wallet.availableLabel': '可提现', 'wallet.frozen': '冻结中（售后期）',
    'wallet.inWithdrawal': '提现中', 'wallet.withdrawn': '已提现', 'wallet.request': '申请提现',
    'wallet.available': '可提现余额 {amount}', 'wallet.amount': '提现金额', 'wallet.method': '收款方式',
    'wallet.account': '收款账号', 'wallet.name': '收款人姓名', 'wallet.submit': '提交提现申请',
    'wallet.quote': '手续费 {fee}，实际到账 {payout}（最低提现 {minimum}）', 'wallet.sent': '已提交，等待商家审核。',
    'wallet.history': '提现记录', 'wallet.none': '还没有提现记录。', 'wallet.line': '手续费 {fee} · 到账 {payout}',
    'wallet.reason': '原因：{reason}',
    'wallet.s.REQUESTED': '待审核', 'wallet.s.APPROVED': '待打款', 'wallet.s.PAID': '已打款', 'wallet.s.REJECTED': '已驳回',
    'wallet.s.FAILED': '打款失败', 'wallet.m.BANK': '银行卡', 'wallet.m.ALIPAY': '支付宝', 'wallet.m.WECHAT': '微信',
  },
  en: {
    'nav.shop': 'Shop', 'nav.orders': 'My orders', 'nav.account': 'Sign in', 'nav.signOut': 'Sign out', 'nav.lang': '中文',
    'points.title': 'Choose a pickup point', 'points.intro': 'Pick the group leader nearest to you; collect your order there with your pickup code.',
    'points.none': 'No pickup point is open yet.', 'points.leader': 'Leader: {name}', 'points.choose': 'Pick up here',
    'shop.point': 'Pickup at {name}', 'shop.change': 'Change', 'shop.none': 'No group buy is open right now. Come back soon.',
    'shop.closes': 'Closes {time}', 'shop.pickup': 'Pickup {date}', 'shop.left': '{n} left', 'shop.soldOut': 'Sold out',
    'shop.total': 'Total {amount}', 'shop.order': 'Place order', 'shop.empty': 'Choose how many you want first.',
    'shop.more': 'One more {name}', 'shop.less': 'One less {name}', 'shop.signInFirst': 'Sign in or register to order.',
    'account.title': 'Sign in or register', 'account.signIn': 'Sign in', 'account.register': 'Create an account',
    'account.phone': 'Phone', 'account.password': 'Password', 'account.name': 'Your name',
    'account.wrong': 'Wrong phone or password.', 'account.busy': 'One moment…',
    'order.title': 'Order {number}', 'order.point': 'Pickup point', 'order.total': 'Total',
    'order.payTitle': 'Payment', 'order.prepaid': "Here the brand's payment provider (e.g. WeChat Pay) takes over: the customer pays there, and the brand's back end, told by the provider, confirms with orderMarkPaid and the tenant's API key.",
    'order.payWindow': 'Pay within {minutes} minutes, or the order is cancelled.',
    'order.devPay': 'Simulate a successful payment (development only)', 'order.devPayNote': "The development stand-in for the brand's back end: it calls orderMarkPaid as a payment notification would.",
    'order.atPickup': 'You pay when you collect it.', 'order.paid': 'Paid',
    'order.code': 'Pickup code', 'order.codeHint': 'Show this QR code or the code to the leader when you collect.',
    'order.toOrders': 'See my orders',
    'orders.title': 'My orders', 'orders.none': 'No orders yet.', 'orders.open': 'Open',
    'join.title': 'Join a community group', 'join.body': 'A group leader invited you. Invite code:', 'join.submit': 'Join the group',
    'join.done': 'You joined “{name}”.', 'join.signIn': 'Sign in or register first, then join.', 'join.shop': "Order at the leader's pickup point",
    'join.leader': 'Group leader: {name}', 'join.point': 'Pickup point: {name}', 'join.frontEnd': 'Open the shop',
    'status.PENDING_PAYMENT': 'Awaiting payment', 'status.PAID': 'Paid', 'status.PLACED': 'Placed', 'status.CONFIRMED': 'Confirmed',
    'status.READY_FOR_PICKUP': 'Ready for pickup', 'status.PICKED_UP': 'Picked up', 'status.CANCELLED': 'Cancelled',
    'error.network': 'Cannot reach the shop. Try again in a moment.', 'error.UNAUTHENTICATED': 'Your session ended. Please sign in again.',
    'error.other': 'Something went wrong: {message}', 'common.loading': 'Loading…',
    'code.INVALID': 'Please check what you entered.', 'code.NOT_FOUND': 'Not found.', 'code.FORBIDDEN': 'Not allowed.',
    'code.CONFLICT': 'This changed meanwhile: refresh and try again.', 'code.ALREADY_EXISTS': 'This phone is registered already: sign in.',
    'code.BATCH_NOT_OPEN': 'This group buy has closed.', 'code.OUT_OF_STOCK': 'Not enough left.', 'code.LIMIT_EXCEEDED': 'More than the limit per customer.',
    'code.INVALID_CREDENTIALS': 'Wrong phone or password.', 'code.RATE_LIMITED': 'Too many attempts: try again later.',
    'code.GROUP_FULL': 'This group is full: start a new one.',
    'group.size': 'Group of {n}', 'group.start': 'Start a group', 'group.join': 'Join this group', 'group.share': 'Invite friends',
    'group.title': 'Group buy: {name}', 'group.members': '{paid} of {size} paid', 'group.ends': 'Ends {time}',
    'group.virtual': '(short of its size: succeeded by the shop\'s rule)',
    'group.status.OPEN': 'Open', 'group.status.SUCCEEDED': 'Succeeded', 'group.status.FAILED': 'Failed: refunded',
    'group.shareHint': 'Send the link or the QR code to friends: the group forms when they pay.', 'group.shareLink': 'Group link',
    'group.copy': 'Copy the link', 'group.copied': 'Copied', 'group.startNew': 'Start a new group of your own',
    'nav.share': 'Share', 'share.title': 'Share and earn',
    'share.intro': 'Send the group buy to neighbours and friends: once they register or first order through your link they are bound to you, and when the shop pays referral commission, their orders earn you some.',
    'share.make': 'Make my share link', 'share.hint': 'Post it in a chat group or send it to a friend; they can also scan the QR code.', 'share.link': 'My share link',
    'share.poster': 'Open the share poster', 'share.earnings': 'My commission', 'share.totals': 'Pending {pending} · earned {earned}',
    'share.referrals': 'People I referred', 'share.noReferrals': 'Nobody is bound to you through your links yet.',
    'share.level1': 'Referred by you', 'share.level2': 'Referred by your referral', 'share.referral': '{orders} orders · commission {commission}',
    'share.status.PENDING': 'Pending', 'share.status.EARNED': 'Earned', 'share.status.REVERSED': 'Reversed by a refund',
    'nav.coupons': 'Coupons', 'coupons.title': 'My coupons', 'coupons.none': 'No coupons yet.',
    'coupons.amountOff': '{amount} off', 'coupons.percentOff': '{percent}% off', 'coupons.over': 'Over {amount}: ',
    'coupons.until': 'until {time}', 'coupons.newCustomers': 'New customers',
    'coupons.status.AVAILABLE': 'Usable', 'coupons.status.UNUSABLE': 'Not usable', 'coupons.status.RESERVED': 'Held by an order',
    'coupons.status.USED': 'Used', 'coupons.status.EXPIRED': 'Expired',
    'wallet.title': 'My commission wallet', 'wallet.availableLabel': 'Available', 'wallet.frozen': 'Frozen (after-sales period)',
    'wallet.inWithdrawal': 'In withdrawal', 'wallet.withdrawn': 'Withdrawn', 'wallet.request': 'Withdraw',
    'wallet.available': 'Available to withdraw: {amount}', 'wallet.amount': 'Amount', 'wallet.method': 'Paid by',
    'wallet.account': 'Account', 'wallet.name': "Account holder's name", 'wallet.submit': 'Request the withdrawal',
    'wallet.quote': 'Fee {fee}, you receive {payout} (minimum {minimum})', 'wallet.sent': 'Requested: the shop reviews it next.',
    'wallet.history': 'Withdrawals', 'wallet.none': 'No withdrawal yet.', 'wallet.line': 'Fee {fee} · paid out {payout}',
    'wallet.reason': 'Reason: {reason}',
    'wallet.s.REQUESTED': 'Awaiting review', 'wallet.s.APPROVED': 'Awaiting payment', 'wallet.s.PAID': 'Paid', 'wallet.s.REJECTED': 'Rejected',
    'wallet.s.FAILED': 'Payment failed', 'wallet.m.BANK': 'Bank card', 'wallet.m.ALIPAY': 'Alipay', 'wallet.m.WECHAT': 'WeChat',
  },
};

const stored = localStorage.getItem('shop.lang');
export let lang = stored || ((navigator.language || '').toLowerCase().startsWith('zh') ? 'zh-CN' : 'en');
prefs.lang = lang;
document.documentElement.lang = lang;

export function setLang(value) {
  localStorage.setItem('shop.lang', value);
  lang = value;
  prefs.lang = value;
  document.documentElement.lang = value;
}

/** t('shop.left', {n: 3}) -> "3 left" */
export function t(key, params = {}) {
  const text = STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ''));
}

/** A Money ({amount: "12.50", currency: "CNY"}) in the customer's language: ¥12.50 / CN¥12.50. */
export function money(m) {
  return new Intl.NumberFormat(lang, { style: 'currency', currency: m.currency }).format(Number(m.amount));
}

/** A date-time from the API (ISO with offset) in the tenant's time zone. */
export function when(iso, timeZone) {
  return new Intl.DateTimeFormat(lang, { timeZone, month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' })
    .format(new Date(iso));
}

/** A payload's UserErrors as one line: our text for each known code, else the API's message. */
export function userErrors(errors) {
  return errors.map((e) => {
    const key = `code.${e.code}`;
    const text = t(key);
    return text === key ? e.message : (e.code === 'INVALID' ? `${text} (${e.message})` : text);
  }).join(' ');
}
