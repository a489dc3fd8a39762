// 催取货: customers whose orders arrived and wait at the point, with a call button each (the number
// masked on screen, dialled whole), and one reminder to all of them (the service allows one an hour).
import { h, fill } from '../dom.js';
import { gql } from '../api.js';
import { t } from '../i18n.js';
import { myPickupPoints } from '../points.js';
import { area, empty, errorBox, message, plural } from '../ui.js';
import { dateTime, maskedPhone, telHref } from '../format.js';

const WAITING = `query PickupWaiting($pickupPointId: ID!) {
  pickupWaiting(pickupPointId: $pickupPointId) { customerName phone orderCount since }
}`;
const REMIND = `mutation PickupRemind($pickupPointId: ID!) {
  pickupRemind(pickupPointId: $pickupPointId) { reminded errors { code field message } }
}`;

export function render({ main, me, query }) {
  fill(main, h('h1', {}, t('remind.title')), h('p', { class: 'lead' }, t('remind.intro')),
    area(() => myPickupPoints(me), (points) => {
      if (!points.length) return empty(t('pickup.noPoints'));
      const point = points.find((p) => p.id === query.point) || points[0];
      return area(() => gql(WAITING, { pickupPointId: point.id }), (data) => {
        const waiting = data.pickupWaiting;
        if (!waiting.length) return empty(t('remind.none'));
        const status = h('div', { id: 'remind-status', 'aria-live': 'polite' });
        const button = h('button', { type: 'button', class: 'primary wide big', id: 'remind-all', onclick: async () => {
          button.disabled = true;
          try {
            const { pickupRemind: p } = await gql(REMIND, { pickupPointId: point.id });
            fill(status, p.errors.length ? message('error', p.errors.map((e) => e.message).join(' '))
              : message('success', plural('remind.sent', p.reminded)));
          } catch (e) {
            fill(status, errorBox(e));
          } finally {
            button.disabled = false;
          }
        } }, t('remind.send', { n: waiting.length }));
        return [
          h('p', { class: 'muted' }, `${t('pickup.point')}: ${point.name}`),
          h('ul', { class: 'cards waiting' }, waiting.map((c) => h('li', { class: 'card row between wrap' },
            h('div', {},
              h('h3', {}, c.customerName),
              h('p', {}, t('today.waitingCount', { orders: plural('orders.n', c.orderCount) })),
              h('p', { class: 'muted' }, t('remind.since', { time: dateTime(c.since) }))),
            c.phone ? h('a', { class: 'button secondary tel', href: telHref(c.phone) }, `${t('pickup.call')} ${maskedPhone(c.phone)}`) : null))),
          button, status,
        ];
      });
    }));
}
