// Batches: create with offers, edit before opening, publish, cancel, close now; per batch the live
// sales per offer, then its purchase orders and pick lists.
import { h, fill } from '../dom.js';
import { gql } from '../api.js';
import { t } from '../i18n.js';
import { date, dateTime, isoToZoned, money, timeZone, zonedToIso } from '../format.js';
import { area, badge, countdownTimer, edges, empty, startCountdowns } from '../ui.js';
import { ERR, act, confirmAction, feedback, fetchAll, field, has, section, table, val } from './kit.js';
import { batchSales } from './today.js';

const B = `id title status opensAt closesAt pickupDate closedAt publishedAt cancelledAt cancelReason
  offers { id price { amount currency } stockLimit remainingStock soldQuantity perCustomerLimit minGroupQuantity status product { id name unit } }`;
const BATCHES = `query ConsoleBatches($after: String) { batches(first: 100, after: $after) { edges { node { id title status opensAt closesAt pickupDate } } pageInfo { hasNextPage endCursor } } }`;
const BATCH = `query ConsoleBatch($id: ID!) { batch(id: $id) { ${B} } }`;
const PRODUCTS = `query ConsoleBatchProducts($after: String) { products(first: 100, after: $after) { edges { node { id name unit active supplier { name } } } pageInfo { hasNextPage endCursor } } }`;
const POS = `query ConsoleBatchPOs($batchId: ID!) { purchaseOrders(batchId: $batchId, first: 100) { edges { node { id number status totalCost { amount currency } supplier { name } } } } }`;
const POINTS = `query ConsolePoints($after: String) { pickupPoints(first: 100, after: $after) { edges { node { id name leader { displayName } } } pageInfo { hasNextPage endCursor } } }`;
const PICK = `query ConsolePick($b: ID!, $p: ID!) { pickList(batchId: $b, pickupPointId: $p) { orders { order { id } } } }`;
const CREATE = `mutation ConsoleBatchCreate($i: BatchCreateInput!) { batchCreate(input: $i) { batch { id } ${ERR} } }`;
const UPDATE = `mutation ConsoleBatchUpdate($id: ID!, $i: BatchUpdateInput!) { batchUpdate(id: $id, input: $i) { batch { id } ${ERR} } }`;
const OFFER_ADD = `mutation ConsoleOfferAdd($id: ID!, $i: OfferInput!) { batchOfferAdd(batchId: $id, input: $i) { offer { id } ${ERR} } }`;
const OFFER_UPDATE = `mutation ConsoleOfferUpdate($id: ID!, $i: OfferUpdateInput!) { offerUpdate(id: $id, input: $i) { offer { id } ${ERR} } }`;
const PUBLISH = `mutation ConsoleBatchPublish($id: ID!) { batchPublish(id: $id) { batch { id status } ${ERR} } }`;
const CANCEL = `mutation ConsoleBatchCancel($id: ID!, $reason: String!) { batchCancel(id: $id, reason: $reason) { batch { id status } ${ERR} } }`;
const CLOSE = `mutation ConsoleBatchClose($id: ID!) { batchClose(id: $id) { batch { id status } ${ERR} } }`;

const int = (s) => (s === '' ? null : Number.parseInt(s, 10));

function offerRow(products, i) {
  const id = `offer-${i}`;
  return h('fieldset', { class: 'offer-row', dataset: { index: String(i) } },
    h('legend', {}, t('console.batches.offerN', { n: i + 1 })),
    field(`${id}-product`, 'console.batches.product', { tag: 'select', options: [['', t('console.batches.pickProduct')], ...products.map((p) => [p.id, `${p.name} · ${p.unit} · ${p.supplier.name}`])] }),
    h('div', { class: 'grid4' },
      field(`${id}-price`, 'console.batches.price', { inputmode: 'decimal', required: true }),
      field(`${id}-stock`, 'console.batches.stock', { type: 'number', min: '0', inputmode: 'numeric' }, 'console.batches.stockHint'),
      field(`${id}-limit`, 'console.batches.perCustomer', { type: 'number', min: '1', inputmode: 'numeric' }),
      field(`${id}-min`, 'console.batches.minGroup', { type: 'number', min: '1', value: '1', inputmode: 'numeric' })));
}

function readOffer(form, i) {
  const id = `offer-${i}`;
  return { productId: val(form, `${id}-product`), price: val(form, `${id}-price`), stockLimit: int(val(form, `${id}-stock`)),
    perCustomerLimit: int(val(form, `${id}-limit`)), minGroupQuantity: int(val(form, `${id}-min`)) || 1 };
}

function createForm(navigate) {
  return area(() => fetchAll(PRODUCTS, {}, (d) => d.products), (all) => {
    const products = all.filter((p) => p.active);
    if (!products.length) return h('div', {}, empty(t('console.batches.noProducts')), h('a', { class: 'button', href: '#/console/catalog' }, t('console.nav.catalog')));
    const out = feedback({ id: 'batch-feedback' });
    const offers = h('div', { class: 'offer-rows' }, offerRow(products, 0));
    let n = 1;
    const now = new Date(Date.now() + 3600e3);
    const form = h('form', { class: 'console-form', id: 'batch-form', novalidate: true },
      field('batch-title', 'console.batches.titleField', { required: true, maxlength: 200 }),
      h('div', { class: 'grid3' },
        field('batch-opens', 'console.batches.opensAt', { type: 'datetime-local', required: true, value: isoToZoned(now.toISOString()) }),
        field('batch-closes', 'console.batches.closesAt', { type: 'datetime-local', required: true, value: isoToZoned(new Date(now.getTime() + 86400e3).toISOString()) }),
        field('batch-pickup', 'console.batches.pickupDate', { type: 'date', required: true, value: isoToZoned(new Date(now.getTime() + 2 * 86400e3).toISOString()).slice(0, 10) })),
      h('p', { class: 'hint' }, t('console.batches.zone', { zone: timeZone() })),
      offers,
      h('button', { type: 'button', class: 'secondary', id: 'offer-add', onclick: () => { offers.append(offerRow(products, n)); n += 1; } }, t('console.batches.addOffer')),
      h('div', { class: 'row wrap actions' }, h('button', { type: 'submit', class: 'primary', id: 'batch-create' }, t('console.batches.create'))),
      out);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const input = { title: val(form, 'batch-title'), opensAt: zonedToIso(val(form, 'batch-opens')), closesAt: zonedToIso(val(form, 'batch-closes')),
        pickupDate: val(form, 'batch-pickup'), offers: [...Array(n).keys()].map((i) => readOffer(form, i)).filter((o) => o.productId) };
      const p = await act(form, out, async () => (await gql(CREATE, { i: input })).batchCreate, t('console.batches.created'));
      if (p) navigate(`#/console/batches/${encodeURIComponent(p.batch.id)}`);
    });
    return form;
  });
}

function editForm(b, reload, out) {
  const form = h('form', { class: 'console-form', id: 'batch-edit', novalidate: true },
    field('edit-title', 'console.batches.titleField', { value: b.title }),
    h('div', { class: 'grid3' },
      field('edit-opens', 'console.batches.opensAt', { type: 'datetime-local', value: isoToZoned(b.opensAt) }),
      field('edit-closes', 'console.batches.closesAt', { type: 'datetime-local', value: isoToZoned(b.closesAt) }),
      field('edit-pickup', 'console.batches.pickupDate', { type: 'date', value: b.pickupDate })),
    h('button', { type: 'submit', class: 'primary' }, t('console.save')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const i = { title: val(form, 'edit-title'), opensAt: zonedToIso(val(form, 'edit-opens')), closesAt: zonedToIso(val(form, 'edit-closes')), pickupDate: val(form, 'edit-pickup') };
    if (await act(form, out, async () => (await gql(UPDATE, { id: b.id, i })).batchUpdate, t('console.saved'))) setTimeout(reload, 600);
  });
  return form;
}

function offerEdit(o, reload, out) {
  const p = `oe-${o.id.replace(/\W/g, '')}`;
  const form = h('form', { class: 'console-form inline', novalidate: true },
    h('div', { class: 'grid4' },
      field(`${p}-price`, 'console.batches.price', { value: o.price.amount, inputmode: 'decimal' }),
      field(`${p}-stock`, 'console.batches.stock', { type: 'number', value: o.stockLimit ?? '' }),
      field(`${p}-limit`, 'console.batches.perCustomer', { type: 'number', value: o.perCustomerLimit ?? '' }),
      field(`${p}-min`, 'console.batches.minGroup', { type: 'number', value: o.minGroupQuantity })),
    h('button', { type: 'submit', class: 'primary small' }, t('console.save')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const i = { price: val(form, `${p}-price`), stockLimit: int(val(form, `${p}-stock`)), perCustomerLimit: int(val(form, `${p}-limit`)), minGroupQuantity: int(val(form, `${p}-min`)) };
    if (await act(form, out, async () => (await gql(OFFER_UPDATE, { id: o.id, i })).offerUpdate, t('console.saved'))) setTimeout(reload, 600);
  });
  return h('details', { class: 'edit' }, h('summary', {}, t('console.edit')), form);
}

function detail(id) {
  const el = h('div', { class: 'batch-detail' });
  const out = feedback({ id: 'batch-action-feedback', class: 'feedback sticky' });
  let timer = null;
  let stopCountdowns = () => {};
  const load = () => fill(el, area(async () => ({ b: (await gql(BATCH, { id })).batch, canEdit: await has('batchUpdate'), canEditOffer: await has('offerUpdate') }), ({ b, canEdit, canEditOffer }) => {
    if (!b) return empty(t('console.notFound'));
    const button = (cls, key, fn) => {
      const btn = h('button', { type: 'button', class: cls, id: `batch-${key}`, onclick: () => fn(btn) });
      btn.textContent = t(`console.batches.${key}`);
      return btn;
    };
    const actions = [];
    if (b.status === 'DRAFT') {
      actions.push(button('primary', 'publish', async (btn) => {
        if (!await confirmAction(t('console.batches.publishConfirm', { title: b.title }), t('console.batches.publish'))) return;
        if (await act(btn, out, async () => (await gql(PUBLISH, { id: b.id })).batchPublish, t('console.batches.published'))) setTimeout(load, 600);
      }));
    }
    if (b.status === 'OPEN') {
      actions.push(button('primary', 'close', async (btn) => {
        if (!await confirmAction(t('console.batches.closeConfirm', { title: b.title }), t('console.batches.close'))) return;
        if (await act(btn, out, async () => (await gql(CLOSE, { id: b.id })).batchClose, t('console.batches.closed'))) setTimeout(load, 1500);
      }));
    }
    if (['DRAFT', 'SCHEDULED', 'OPEN'].includes(b.status)) {
      actions.push(button('danger', 'cancel', async (btn) => {
        const reason = await confirmAction(t('console.batches.cancelConfirm', { title: b.title }), t('console.batches.cancel'), { reason: true });
        if (!reason) return;
        if (await act(btn, out, async () => (await gql(CANCEL, { id: b.id, reason })).batchCancel, t('console.batches.cancelled'))) setTimeout(load, 600);
      }));
    }
    const editable = ['DRAFT', 'SCHEDULED'].includes(b.status);
    const offers = table([
      ['console.batches.product', (o) => `${o.product.name} · ${o.product.unit}`],
      ['console.batches.price', (o) => money(o.price), { num: true }],
      ['console.batches.sold', (o) => h('span', { class: 'sold-qty' }, String(o.soldQuantity)), { num: true }],
      ['console.batches.stock', (o) => (o.stockLimit === null ? t('today.unlimited') : `${o.remainingStock} / ${o.stockLimit}`), { num: true }],
      ['console.batches.perCustomer', (o) => (o.perCustomerLimit === null ? '—' : String(o.perCustomerLimit)), { num: true }],
      ['console.batches.minGroup', (o) => String(o.minGroupQuantity), { num: true }],
      ['orders.status', (o) => badge(o.status)],
      ...(editable && canEditOffer ? [['console.actions', (o) => offerEdit(o, load, out)]] : []),
    ], b.offers, { id: 'offers' });
    const parts = [
      h('div', { class: 'row between wrap' }, h('h1', {}, b.title), badge(b.status)),
      h('p', { class: 'muted' }, `${dateTime(b.opensAt)} – ${dateTime(b.closesAt)} · ${t('today.pickupDate', { date: date(b.pickupDate) })}`),
      b.status === 'OPEN' ? countdownTimer(b.closesAt) : null,
      b.cancelReason ? h('p', {}, t('console.leaders.reason', { reason: b.cancelReason })) : null,
      h('p', {}, h('a', { href: `#/console/activity?object=${encodeURIComponent(b.id)}`, class: 'history' }, t('console.activity.forThis'))),
      actions.length ? h('div', { class: 'row wrap actions' }, actions) : null,
      section('console.batches.sales', area(() => batchSales(b.id), (s) => h('p', { class: 'sales', id: 'batch-sales' },
        h('span', { class: 'orders-count' }, t('console.today.orders', { n: s.count })), ' · ', h('span', { class: 'gmv' }, t('console.today.gmv', { amount: money(s.gmv) })))),
      b.offers.length ? offers : empty(t('console.batches.noOffers'))),
    ];
    if (editable) {
      parts.push(section('console.batches.edit', canEdit ? editForm(b, load, out) : h('p', { class: 'muted' }, t('console.unavailable.title'))));
      parts.push(section('console.batches.addOffer', area(() => fetchAll(PRODUCTS, {}, (d) => d.products), (products) => {
        const form = h('form', { class: 'console-form', id: 'offer-add-form', novalidate: true }, offerRow(products.filter((p) => p.active), 0), h('button', { type: 'submit', class: 'primary' }, t('console.batches.addOffer')));
        form.addEventListener('submit', async (e) => {
          e.preventDefault();
          if (await act(form, out, async () => (await gql(OFFER_ADD, { id: b.id, i: readOffer(form, 0) })).batchOfferAdd, t('console.saved'))) setTimeout(load, 600);
        });
        return form;
      })));
    }
    if (['CLOSED', 'COMPLETED'].includes(b.status)) {
      parts.push(section('console.batches.purchaseOrders', area(() => gql(POS, { batchId: b.id }), (d) => {
        const pos = edges(d.purchaseOrders);
        if (!pos.length) return empty(t('console.batches.noPurchaseOrders'));
        return h('ul', { class: 'plain', id: 'batch-pos' }, pos.map((p) => h('li', {},
          h('a', { href: `#/purchase-order/${encodeURIComponent(p.id)}` }, p.number), ` · ${p.supplier.name} · ${money(p.totalCost)} `, badge(p.status))));
      })));
      parts.push(section('console.batches.pickLists', area(async () => {
        const points = await fetchAll(POINTS, {}, (d) => d.pickupPoints);
        const withOrders = [];
        for (const p of points) {
          const pl = (await gql(PICK, { b: b.id, p: p.id })).pickList;
          if (pl.orders.length) withOrders.push({ ...p, n: pl.orders.length });
        }
        return withOrders;
      }, (points) => (points.length ? h('ul', { class: 'plain', id: 'batch-picklists' }, points.map((p) => h('li', {},
        h('a', { href: `#/picklist/${encodeURIComponent(b.id)}/${encodeURIComponent(p.id)}` }, p.name), ` · ${p.leader.displayName} · ${t('today.orderCount', { n: p.n })}`)))
        : empty(t('console.batches.noPickLists'))))));
    }
    const node = h('div', {}, parts);
    stopCountdowns();
    stopCountdowns = startCountdowns(node);
    clearTimeout(timer);
    if (b.status === 'OPEN') timer = setTimeout(load, 10000); // live sales while it is open
    return node;
  }));
  load();
  return [h('div', {}, out, el), () => { clearTimeout(timer); stopCountdowns(); }];
}

export function render({ main, params, navigate }) {
  const [id] = params;
  if (id === 'new') {
    fill(main, h('p', {}, h('a', { href: '#/console/batches' }, `← ${t('console.nav.batches')}`)), h('h1', {}, t('console.batches.new')), createForm(navigate));
    return null;
  }
  if (id) {
    const [el, stop] = detail(id);
    fill(main, h('p', {}, h('a', { href: '#/console/batches' }, `← ${t('console.nav.batches')}`)), el);
    return stop;
  }
  fill(main, h('div', { class: 'row between wrap' }, h('h1', {}, t('console.batches.title')), h('a', { class: 'button', id: 'batch-new', href: '#/console/batches/new' }, t('console.batches.new'))),
    area(() => fetchAll(BATCHES, {}, (d) => d.batches), (items) => (items.length ? table([
      ['console.batches.titleField', (b) => h('a', { href: `#/console/batches/${encodeURIComponent(b.id)}` }, b.title)],
      ['orders.status', (b) => badge(b.status)],
      ['console.batches.opensAt', (b) => dateTime(b.opensAt)],
      ['console.batches.closesAt', (b) => dateTime(b.closesAt)],
      ['console.batches.pickupDate', (b) => date(b.pickupDate)],
    ], items, { id: 'batches' }) : empty(t('console.batches.none')))));
  return null;
}
