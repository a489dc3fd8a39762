// Pickup confirmation (核销): the customer's code (typed or scanned), or their phone's last four digits,
// or their 跟团号 in a batch; all of a customer's ready orders are handed over with one confirmation.
// The answer is immediate and plain: whose orders and what to hand over, or why not. A success card
// stays until the next pickup starts (the leader types again or switches the way of finding).
import { h, fill } from '../dom.js';
import { gql, serverNow } from '../api.js';
import { t } from '../i18n.js';
import { myPickupPoints } from '../points.js';
import { area, badge, edges, empty, explain, plural } from '../ui.js';
import { dateTime, maskedPhone, telHref } from '../format.js';

const PICKUP_CONFIRM = `mutation PickupConfirm($pickupPointId: ID!, $pickupCode: String!) {
  pickupConfirm(pickupPointId: $pickupPointId, pickupCode: $pickupCode) {
    order { id number pickNumber customerName customerPhone status pickedUpAt lines { productName quantity status } }
    errors { code field message }
  }
}`;

const ORDER_FIELDS = `id number batchSequence pickNumber customerName customerPhone status pickedUpAt
  batch { id title } lines { productName quantity status }`;
const FIND = `query PickupFind($pickupPointId: ID, $phoneTail: String, $batchId: ID, $batchSequence: Int) {
  orders(pickupPointId: $pickupPointId, phoneTail: $phoneTail, batchId: $batchId, batchSequence: $batchSequence,
         status: [READY_FOR_PICKUP, CONFIRMED, PICKED_UP], first: 50) { edges { node { ${ORDER_FIELDS} } } }
}`;
const WAITING_BATCHES = `query PickupBatches($pickupPointId: ID) {
  orders(pickupPointId: $pickupPointId, status: [READY_FOR_PICKUP, CONFIRMED], first: 100) { edges { node { id batch { id title } } } }
}`;
const CONFIRM_ORDERS = `mutation PickupConfirmOrders($pickupPointId: ID!, $orderIds: [ID!]!) {
  pickupConfirmOrders(pickupPointId: $pickupPointId, orderIds: $orderIds) {
    orders { ${ORDER_FIELDS} } alreadyPickedUp errors { code field message }
  }
}`;
const MODES = [['code', 'pickup.byCode'], ['tail', 'pickup.byTail'], ['seq', 'pickup.bySeq']];

const recent = []; // confirmations made in this tab, newest first
let mode = 'code';

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
    let batchId = null;
    const feedback = h('div', { id: 'pickup-feedback', class: 'feedback', 'aria-live': 'assertive', 'aria-atomic': 'true' });
    const recentList = h('div', {});
    // The next pickup starts when the leader types: only then does the last answer go.
    const input = h('input', {
      id: 'pickup-code', class: 'code-input', type: 'text', inputmode: 'numeric', autocomplete: 'off',
      autocapitalize: 'characters', spellcheck: 'false', enterkeyhint: 'done', 'aria-describedby': 'pickup-code-hint',
      oninput: () => { if (feedback.firstChild) fill(feedback); },
    });
    const label = h('label', { for: 'pickup-code' });
    const hint = h('p', { class: 'hint', id: 'pickup-code-hint' });
    const submit = h('button', { type: 'submit', class: 'primary wide big' });
    const batchField = h('div', { class: 'field', hidden: true });

    const showRecent = () => fill(recentList, recent.length ? [
      h('h2', {}, t('pickup.recent')),
      h('ul', { class: 'recent' }, recent.map((o) => h('li', {}, [o.pickNumber != null ? `#${o.pickNumber} · ` : '', `${t('orders.number')} ${o.number} · ${o.customerName}`].join('')))),
    ] : null);

    const busy = async (fn) => {
      submit.disabled = true;
      submit.textContent = t('common.saving');
      try { await fn(); } catch (err) {
        fill(feedback, result('fail', explain(err))); // network: what was typed stays for a retry
      } finally {
        submit.disabled = false;
        submit.textContent = t(mode === 'code' ? 'pickup.submit' : 'pickup.find');
        input.focus();
      }
    };

    async function confirm(code) {
      code = code.trim();
      if (!code) {
        // An empty tap after a success keeps the card: the goods may still be being handed over.
        if (!feedback.querySelector('.result.ok')) fill(feedback, result('fail', t('pickup.empty')));
        input.focus();
        return;
      }
      await busy(async () => {
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
          const done = result('ok', t('pickup.okOrder', { number: o.number, customer: o.customerName }), bag(o), handover(o));
          fill(feedback, done);
          input.value = '';
          showRecent();
          alsoWaiting(o, done);
        }
      });
    }

    /** One code shown, more orders waiting: the customer's other ready orders at this point, to hand
     * over now (as 快团团 does), under the success card while it stays. */
    async function alsoWaiting(o, done) {
      if (!o.customerPhone) return;
      let others;
      try {
        others = edges((await gql(FIND, { pickupPointId: pointId, phoneTail: o.customerPhone.slice(-4) })).orders)
          .filter((x) => x.customerPhone === o.customerPhone && x.id !== o.id && x.status === 'READY_FOR_PICKUP');
      } catch {
        return; // the pickup itself is done; the others show when looked up
      }
      if (!others.length || !done.isConnected) return; // nothing more, or the next pickup started
      feedback.append(h('p', { class: 'also-waiting' }, t('pickup.alsoWaiting', { orders: plural('orders.n', others.length) })),
        customerCard({ name: o.customerName, phone: o.customerPhone, orders: others }));
    }

    async function find(value) {
      value = value.trim();
      const wanted = mode === 'tail' ? /^[0-9]{4}$/ : /^[0-9]{1,5}$/;
      if (!wanted.test(value)) {
        if (!feedback.querySelector('.result.ok')) fill(feedback, result('fail', t(mode === 'tail' ? 'pickup.tailHint' : 'pickup.seqHint')));
        input.focus();
        return;
      }
      await busy(async () => {
        const variables = mode === 'tail' ? { pickupPointId: pointId, phoneTail: value }
          : { pickupPointId: pointId, batchId, batchSequence: Number(value) };
        const found = edges((await gql(FIND, variables)).orders);
        if (!found.length) { fill(feedback, result('fail', t('pickup.noneFound', { value }))); input.select(); return; }
        fill(feedback, ...customers(found).map((c) => customerCard(c)));
      });
    }

    function customerCard(c) {
      const ready = c.orders.filter((o) => o.status === 'READY_FOR_PICKUP');
      const button = ready.length ? h('button', { type: 'button', class: 'primary wide big handover-all', onclick: () => busy(async () => {
        const { pickupConfirmOrders: p } = await gql(CONFIRM_ORDERS, { pickupPointId: pointId, orderIds: ready.map((o) => o.id) });
        if (p.errors.length) { fill(feedback, result('fail', whyNot(p.errors, ''))); return; }
        const before = new Set(p.alreadyPickedUp);
        const now = p.orders.filter((o) => !before.has(o.id));
        now.forEach((o) => recent.unshift({ number: o.number, pickNumber: o.pickNumber, customerName: o.customerName }));
        fill(feedback, result(now.length ? 'ok' : 'warn', t('pickup.handedOver', { customer: c.name, orders: plural('orders.n', now.length) }),
          ...p.orders.map((o) => orderBlock(o))));
        input.value = '';
        showRecent();
      }) }, t('pickup.handOverAll', { orders: plural('orders.n', ready.length) })) : null;
      return h('section', { class: 'card customer' },
        h('div', { class: 'row between wrap' },
          h('h3', {}, c.name),
          c.phone ? h('a', { class: 'button secondary tel', href: telHref(c.phone) }, `${t('pickup.call')} ${maskedPhone(c.phone)}`) : null),
        ...c.orders.map((o) => orderBlock(o)),
        button);
    }

    function setMode(next) {
      mode = next;
      fill(feedback);
      input.value = '';
      fill(label, t({ code: 'pickup.code', tail: 'pickup.tail', seq: 'pickup.seq' }[mode]));
      fill(hint, t({ code: 'pickup.codeHint', tail: 'pickup.tailHint', seq: 'pickup.seqHint' }[mode]));
      input.maxLength = mode === 'code' ? 12 : mode === 'tail' ? 4 : 5;
      submit.textContent = t(mode === 'code' ? 'pickup.submit' : 'pickup.find');
      batchField.hidden = mode !== 'seq';
      scanRow.hidden = mode !== 'code';
      modeButtons.forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.mode === mode)));
      input.focus();
    }

    // 跟团号 is per batch: the batches with orders at this point still to hand over.
    const loadBatches = () => fill(batchField, h('label', { for: 'pickup-batch' }, t('pickup.batch')),
      area(() => gql(WAITING_BATCHES, { pickupPointId: pointId }), (data) => {
        const batches = [...new Map(edges(data.orders).map((o) => [o.batch.id, o.batch])).values()];
        if (!batches.length) return empty(t('pickup.noBatches'));
        if (!batches.some((b) => b.id === batchId)) batchId = batches[0].id;
        return h('select', { id: 'pickup-batch', onchange: (e) => { batchId = e.target.value; fill(feedback); input.focus(); } },
          batches.map((b) => h('option', { value: b.id, selected: b.id === batchId }, b.title)));
      }));

    const pointField = points.length > 1 ? h('div', { class: 'field' },
      h('label', { for: 'pickup-point' }, t('pickup.point')),
      h('select', { id: 'pickup-point', onchange: (e) => { pointId = e.target.value; fill(feedback); loadBatches(); input.focus(); } },
        points.map((p) => h('option', { value: p.id, selected: p.id === pointId }, p.name))))
      : h('p', { class: 'muted' }, `${t('pickup.point')}: ${points[0].name}`);

    const modeButtons = MODES.map(([name, key]) => h('button', { type: 'button', class: 'mode', 'data-mode': name,
      id: `mode-${name}`, 'aria-pressed': String(name === mode), onclick: () => setMode(name) }, t(key)));

    const video = h('video', { class: 'scanner', playsinline: true, muted: true, hidden: true, 'aria-hidden': 'true' });
    const scanButton = h('button', { type: 'button', class: 'secondary wide', id: 'scan', onclick: async () => {
      if (stopScan) { stopScan(); return; }
      try {
        stopScan = await scan(video, (value) => { stopScan(); input.value = codeFromScan(value); confirm(input.value); },
          () => { stopScan = null; video.hidden = true; scanButton.textContent = t('pickup.scan'); });
        video.hidden = false;
        scanButton.textContent = t('pickup.scanStop');
      } catch (err) {
        fill(feedback, result('fail', t('pickup.cameraDenied', { message: err.message || err.name })));
      }
    } }, t('pickup.scan'));
    const scanRow = h('div', {}, scanButton, video);

    const form = h('form', { class: 'card pickup', novalidate: true, onsubmit: (e) => {
      e.preventDefault();
      if (mode === 'code') confirm(input.value); else find(input.value);
    } },
      pointField,
      h('div', { class: 'modes', role: 'group', 'aria-label': t('pickup.findBy') }, modeButtons),
      batchField,
      h('div', { class: 'field' }, label, input, hint),
      submit, scanRow);
    loadBatches();
    setMode(mode);
    setTimeout(() => input.focus(), 0);
    showRecent();
    return [form, feedback, recentList,
      h('p', {}, h('a', { class: 'button secondary wide', href: `#/remind?point=${encodeURIComponent(pointId)}`, id: 'remind-link' }, t('remind.title')))];
  }));
  return () => { if (stopScan) stopScan(); };
}

/** Found orders by customer (phone, else name), in the order found. */
function customers(orders) {
  const groups = new Map();
  for (const o of orders) {
    const key = o.customerPhone || o.customerName;
    if (!groups.has(key)) groups.set(key, { name: o.customerName, phone: o.customerPhone, orders: [] });
    groups.get(key).orders.push(o);
  }
  return [...groups.values()];
}

function orderBlock(o) {
  return h('div', { class: 'order-block' },
    h('p', { class: 'row between wrap' },
      h('strong', {}, t('pickup.seqNumber', { n: o.batchSequence }), ' · ', o.batch.title),
      badge(o.status)),
    h('p', { class: 'muted' }, `${t('orders.number')} ${o.number}`),
    bag(o), handover(o));
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
  if (e.code === 'NOT_FOUND' && code) return t('pickup.notFound', { code });
  if (e.code === 'NOT_ARRIVED') return t('pickup.notArrived');
  if (e.code === 'RATE_LIMITED') return t('pickup.rateLimited');
  // The service's own sentence, in the language on screen (Accept-Language).
  return errors.map((x) => x.message).join(' ') || t('pickup.fail');
}

/** Camera + a QR decoder: calls onCode(rawValue) at the first QR code seen. Returns a stop function. */
async function scan(video, onCode, onStop) {
  const detector = await qrDetector();
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

/** The browser's BarcodeDetector where there is one; else the vendored jsQR over canvas frames
 * (loaded only now: it is 250 kB). Both answer detect(video) with [{ rawValue }]. */
async function qrDetector() {
  if ('BarcodeDetector' in window) {
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      if (formats.includes('qr_code')) return new window.BarcodeDetector({ formats: ['qr_code'] });
    } catch { /* fall back to jsQR */ }
  }
  await import('../vendor/jsqr/jsQR.js');
  const canvas = document.createElement('canvas');
  const context = canvas.getContext('2d', { willReadFrequently: true });
  return {
    async detect(video) {
      const width = video.videoWidth, height = video.videoHeight;
      if (!width || !height) return [];
      canvas.width = width;
      canvas.height = height;
      context.drawImage(video, 0, 0, width, height);
      const found = self.jsQR(context.getImageData(0, 0, width, height).data, width, height, { inversionAttempts: 'dontInvert' });
      return found ? [{ rawValue: found.data }] : [];
    },
  };
}
