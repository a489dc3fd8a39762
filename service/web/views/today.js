// Today: open batches with a live countdown and remaining stock, batches awaiting delivery, unread notifications.
import { h, fill } from '../dom.js';
import { gql } from '../api.js';
import { t } from '../i18n.js';
import { date, dateTime, money } from '../format.js';
import { area, badge, countdownTimer, edges, empty, errorBox, plural, startCountdowns } from '../ui.js';

const OPEN_PART = `
  batches(status: [OPEN], first: 50) {
    edges { node { id title status closesAt pickupDate
      offers { id status price { amount currency } stockLimit remainingStock soldQuantity product { name unit } } } }
  }`;
const AWAITING_PART = `
  awaiting: orders(status: [CONFIRMED], first: 100) {
    edges { node { id batch { id title pickupDate } pickupPoint { id name } } }
  }`;
const WAITING_PART = `
  waiting: orders(status: [READY_FOR_PICKUP], first: 100) { edges { node { id pickupPoint { id name } } } }`;
const UNREAD_PART = `
  notifications(unreadOnly: true, first: 20) { edges { node { id event title body createdAt } } }`;
// The whole screen in one request (one round trip on a slow network); an area's retry asks for its part.
const TODAY = `query TodayScreen {${OPEN_PART}${AWAITING_PART}${WAITING_PART}${UNREAD_PART}\n}`;
const OPEN_BATCHES = `query TodayOpenBatches {${OPEN_PART}\n}`;
const AWAITING_DELIVERY = `query TodayAwaitingDelivery {${AWAITING_PART}\n}`;
const WAITING = `query TodayWaiting {${WAITING_PART}\n}`;
const UNREAD = `query TodayNotifications {${UNREAD_PART}\n}`;
const MARK_READ = `mutation NotificationMarkRead($id: ID!) { notificationMarkRead(id: $id) }`;

let early = null;

/** Asks for 今日 while the shell is still asking who is signed in (one round trip fewer), or takes
 * `started`, the answer to the request the page began (index.html). */
export function prefetch(started = null) {
  early = started || gql(TODAY);
  early.catch(() => {}); // render() shows its failure, or it was not needed
}

export function render({ main }) {
  const screen = early || gql(TODAY);
  early = null;
  const firstThen = (own) => { let first = true; return () => { if (first) { first = false; return screen; } return gql(own); }; };
  const openArea = area(firstThen(OPEN_BATCHES), (data) => {
    const batches = edges(data.batches);
    if (!batches.length) return empty(t('today.noOpen'));
    return h('ul', { class: 'cards' }, batches.map((b) => h('li', { class: 'card batch' },
      h('div', { class: 'row between' },
        h('h3', {}, b.title),
        countdownTimer(b.closesAt, { title: dateTime(b.closesAt) })),
      h('p', { class: 'muted' }, t('today.pickupDate', { date: date(b.pickupDate) })),
      h('ul', { class: 'offers' }, b.offers.map((o) => h('li', { class: 'offer' },
        h('span', { class: 'offer-name' }, o.product.name, h('small', {}, ` · ${o.product.unit}`)),
        h('span', { class: 'offer-price' }, money(o.price)),
        h('span', { class: `stock${o.remainingStock === 0 ? ' out' : ''}` },
          o.remainingStock === null || o.remainingStock === undefined
            ? t('today.unlimited')
            : o.remainingStock === 0 ? t('today.soldOut') : t('today.remaining', { n: o.remainingStock })),
        h('span', { class: 'muted sold' }, t('today.sold', { n: o.soldQuantity }))))))));
  });

  const deliveryArea = area(firstThen(AWAITING_DELIVERY), (data) => {
    const groups = new Map();
    for (const o of edges(data.awaiting)) {
      const key = `${o.batch.id}|${o.pickupPoint.id}`;
      if (!groups.has(key)) groups.set(key, { batch: o.batch, point: o.pickupPoint, count: 0 });
      groups.get(key).count += 1;
    }
    if (!groups.size) return empty(t('today.noAwaiting'));
    return h('ul', { class: 'cards' }, [...groups.values()].map((g) => h('li', { class: 'card row between wrap' },
      h('div', {},
        h('h3', {}, g.batch.title),
        h('p', { class: 'muted' }, `${g.point.name} · ${t('today.pickupDate', { date: date(g.batch.pickupDate) })}`),
        h('p', {}, badge('CONFIRMED'), ' ', plural('today.orderCount', g.count))),
      h('a', { class: 'button', href: `#/picklist/${encodeURIComponent(g.batch.id)}/${encodeURIComponent(g.point.id)}` },
        t('today.pickList')))));
  });

  // Ready and not picked up yet, per point (counted up to 100: the 催取货 screen lists them all).
  const waitingArea = area(firstThen(WAITING), (data) => {
    const points = new Map();
    for (const o of edges(data.waiting)) {
      if (!points.has(o.pickupPoint.id)) points.set(o.pickupPoint.id, { point: o.pickupPoint, count: 0 });
      points.get(o.pickupPoint.id).count += 1;
    }
    if (!points.size) return empty(t('today.noWaiting'));
    return h('ul', { class: 'cards' }, [...points.values()].map((g) => h('li', { class: 'card row between wrap' },
      h('div', {}, h('h3', {}, g.point.name),
        h('p', { class: 'waiting-count' }, badge('READY_FOR_PICKUP'), ' ', t('today.waitingCount', { orders: plural('orders.n', g.count) }))),
      h('a', { class: 'button', href: `#/remind?point=${encodeURIComponent(g.point.id)}` }, t('remind.title')))));
  });

  const notificationsArea = area(firstThen(UNREAD), (data, reload) => {
    const items = edges(data.notifications);
    if (!items.length) return empty(t('today.noNotifications'));
    return h('ul', { class: 'notifications' }, items.map((n) => {
      const status = h('div', { 'aria-live': 'polite' });
      const button = h('button', { type: 'button', class: 'secondary small', onclick: async () => {
        button.disabled = true;
        try {
          await gql(MARK_READ, { id: n.id });
          reload();
        } catch (e) {
          button.disabled = false;
          fill(status, errorBox(e));
        }
      } }, t('today.markRead'));
      return h('li', { class: 'card notification' },
        h('div', { class: 'row between' }, h('strong', {}, n.title), h('time', { class: 'muted', datetime: n.createdAt }, dateTime(n.createdAt))),
        h('p', {}, n.body), button, status);
    }));
  });

  fill(main,
    h('h1', {}, t('today.title')),
    h('section', { 'aria-labelledby': 'open-title', id: 'open-batches' }, h('h2', { id: 'open-title' }, t('today.open')), openArea),
    h('section', { 'aria-labelledby': 'waiting-title', id: 'waiting-pickup' }, h('h2', { id: 'waiting-title' }, t('today.waiting')), waitingArea),
    h('section', { 'aria-labelledby': 'awaiting-title', id: 'awaiting-delivery' }, h('h2', { id: 'awaiting-title' }, t('today.awaiting')), deliveryArea),
    h('section', { 'aria-labelledby': 'notes-title', id: 'notifications' }, h('h2', { id: 'notes-title' }, t('today.notifications')), notificationsArea));
  return startCountdowns(main);
}
