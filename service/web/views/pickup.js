// Pickup confirmation (核销): type the customer's code, or scan their QR code where the browser can.
// The answer is immediate and plain: whose order and what to hand over, or why not.
import { h, fill } from '../dom.js';
import { gql, serverNow } from '../api.js';
import { t } from '../i18n.js';
import { myPickupPoints } from '../points.js';
import { area, empty, explain } from '../ui.js';
import { dateTime } from '../format.js';

const PICKUP_CONFIRM = `mutation PickupConfirm($pickupPointId: ID!, $pickupCode: String!) {
  pickupConfirm(pickupPointId: $pickupPointId, pickupCode: $pickupCode) {
    order { id number pickNumber customerName status pickedUpAt lines { productName quantity status } }
    errors { code field message }
  }
}`;

const recent = []; // confirmations made in this tab, newest first

/** The pickup code inside a scanned value: a bare code, or a URL with ?code= / ?pickupCode=. */
export function codeFromScan(value) {
  const text = String(value || '').trim();
  try {
    const url = new URL(text);
    const found = url.searchParams.get('pickupCode') || url.searchParams.get('code');
    if (found) return found.trim();
    return url.pathname.split('/').filter(Boolean).pop() || '';
  } catch {
    return text;
  }
}

export function render({ main, me, query }) {
  let stopScan = null;
  fill(main, h('h1', {}, t('pickup.title')), area(() => myPickupPoints(me), (points) => {
    if (!points.length) return empty(t('pickup.noPoints'));
    let pointId = points.some((p) => p.id === query.point) ? query.point : points[0].id;
    const feedback = h('div', { id: 'pickup-feedback', class: 'feedback', 'aria-live': 'assertive', 'aria-atomic': 'true' });
    const recentList = h('div', {});
    const input = h('input', {
      id: 'pickup-code', class: 'code-input', type: 'text', inputmode: 'numeric', autocomplete: 'off',
      autocapitalize: 'characters', spellcheck: 'false', enterkeyhint: 'done', 'aria-describedby': 'pickup-code-hint',
      oninput: () => { if (feedback.firstChild) fill(feedback); },
    });
    const submit = h('button', { type: 'submit', class: 'primary wide big' }, t('pickup.submit'));

    const showRecent = () => fill(recentList, recent.length ? [
      h('h2', {}, t('pickup.recent')),
      h('ul', { class: 'recent' }, recent.map((o) => h('li', {}, [o.pickNumber != null ? `#${o.pickNumber} · ` : '', `${t('orders.number')} ${o.number} · ${o.customerName}`].join('')))),
    ] : null);

    async function confirm(code) {
      code = code.trim();
      if (!code) { fill(feedback, result('fail', t('pickup.empty'))); input.focus(); return; }
      submit.disabled = true;
      submit.textContent = t('common.saving');
      try {
        const { pickupConfirm: payload } = await gql(PICKUP_CONFIRM, { pickupPointId: pointId, pickupCode: code });
        if (payload.errors.length || !payload.order) {
          fill(feedback, result('fail', whyNot(payload.errors, code)));
          input.select();
        } else if (handedOverBefore(payload.order)) {
          // Confirming twice is harmless for the API; for the leader it means: do not hand it over again.
          const o = payload.order;
          fill(feedback, result('warn', t('pickup.already', { number: o.number, customer: o.customerName, time: dateTime(o.pickedUpAt) }),
            bag(o), handover(o)));
          input.select();
        } else {
          const o = payload.order;
          recent.unshift({ number: o.number, pickNumber: o.pickNumber, customerName: o.customerName });
          fill(feedback, result('ok', t('pickup.okOrder', { number: o.number, customer: o.customerName }), bag(o), handover(o)));
          input.value = '';
          showRecent();
        }
      } catch (err) {
        fill(feedback, result('fail', explain(err))); // network: the code stays in the box for a retry
      } finally {
        submit.disabled = false;
        submit.textContent = t('pickup.submit');
        input.focus();
      }
    }

    const pointField = points.length > 1 ? h('div', { class: 'field' },
      h('label', { for: 'pickup-point' }, t('pickup.point')),
      h('select', { id: 'pickup-point', onchange: (e) => { pointId = e.target.value; fill(feedback); input.focus(); } },
        points.map((p) => h('option', { value: p.id, selected: p.id === pointId }, p.name))))
      : h('p', { class: 'muted' }, `${t('pickup.point')}: ${points[0].name}`);

    const video = h('video', { class: 'scanner', playsinline: true, muted: true, hidden: true, 'aria-hidden': 'true' });
    const scanButton = 'BarcodeDetector' in window ? h('button', { type: 'button', class: 'secondary wide', id: 'scan', onclick: async () => {
      if (stopScan) { stopScan(); return; }
      try {
        stopScan = await scan(video, (value) => { stopScan(); input.value = codeFromScan(value); confirm(input.value); },
          () => { stopScan = null; video.hidden = true; scanButton.textContent = t('pickup.scan'); });
        video.hidden = false;
        scanButton.textContent = t('pickup.scanStop');
      } catch (err) {
        fill(feedback, result('fail', t('pickup.cameraDenied', { message: err.message || err.name })));
      }
    } }, t('pickup.scan')) : h('p', { class: 'hint' }, t('pickup.scanUnsupported'));

    const form = h('form', { class: 'card pickup', novalidate: true, onsubmit: (e) => { e.preventDefault(); confirm(input.value); } },
      pointField,
      h('div', { class: 'field' },
        h('label', { for: 'pickup-code' }, t('pickup.code')),
        input,
        h('p', { class: 'hint', id: 'pickup-code-hint' }, t('pickup.codeHint'))),
      submit, scanButton, video);
    setTimeout(() => input.focus(), 0);
    showRecent();
    return [form, feedback, recentList];
  }));
  return () => { if (stopScan) stopScan(); };
}

const HEADS = { ok: ['✓', 'pickup.ok'], warn: ['!', 'pickup.warn'], fail: ['✗', 'pickup.fail'] };

function result(kind, title, ...details) {
  const [icon, head] = HEADS[kind];
  return h('div', { class: `result ${kind}`, role: kind === 'ok' ? 'status' : 'alert' },
    h('p', { class: 'result-head' }, h('span', { class: 'result-icon', 'aria-hidden': 'true' }, icon), t(head)),
    h('p', { class: 'result-title' }, title),
    ...details);
}

/** The bag to fetch: the order's pick number, as on the pick list. */
function bag(order) {
  return order.pickNumber != null ? h('p', { class: 'result-bag' }, t('pickup.bag', { n: order.pickNumber })) : null;
}

function handover(order) {
  return h('ul', { class: 'handover' }, order.lines.filter((l) => l.status !== 'CANCELLED').map((l) =>
    h('li', {}, h('span', {}, l.productName), h('strong', {}, `× ${l.quantity}`))));
}

/** Picked up before this request: an earlier confirmation, not this one. Measured on the server's
 * clock (its Date header has whole seconds, so this confirmation is at most ~1 s past it); the
 * device's clock, which may be off, only when the server sent none. */
function handedOverBefore(order) {
  if (order.status !== 'PICKED_UP' || !order.pickedUpAt) return false;
  return new Date(order.pickedUpAt).getTime() < serverNow() - 3000;
}

function whyNot(errors, code) {
  const e = errors[0] || {};
  if (e.code === 'NOT_FOUND') return t('pickup.notFound', { code });
  if (e.code === 'NOT_ARRIVED') return t('pickup.notArrived');
  if (e.code === 'RATE_LIMITED') return t('pickup.rateLimited');
  if (e.code === 'CONFLICT') return t('pickup.conflict', { message: e.message });
  return errors.map((x) => x.message).join(' ') || t('pickup.fail');
}

/** Camera + BarcodeDetector: calls onCode(rawValue) at the first QR code seen. Returns a stop function. */
async function scan(video, onCode, onStop) {
  const detector = new window.BarcodeDetector({ formats: ['qr_code'] });
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
  video.srcObject = stream;
  await video.play();
  let running = true;
  const stop = () => {
    if (!running) return;
    running = false;
    stream.getTracks().forEach((track) => track.stop());
    video.srcObject = null;
    onStop();
  };
  const loop = async () => {
    if (!running) return;
    try {
      const codes = await detector.detect(video);
      if (codes.length && running) { onCode(codes[0].rawValue); return; }
    } catch { /* a frame that could not be read: try the next */ }
    setTimeout(loop, 200);
  };
  loop();
  return stop;
}
