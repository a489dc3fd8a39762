// Catalog: suppliers and their products; create, edit, archive, search.
import { h, fill } from '../dom.js';
import { gql } from '../api.js';
import { t } from '../i18n.js';
import { money } from '../format.js';
import { area, empty } from '../ui.js';
import { ERR, act, confirmAction, feedback, fetchAll, field, has, section, table, val } from './kit.js';

const SUPPLIERS = `query ConsoleSuppliers($after: String) {
  suppliers(first: 100, after: $after) { edges { node { id name contactEmail } } pageInfo { hasNextPage endCursor } }
}`;
const PRODUCTS = `query ConsoleProducts($search: String, $after: String) {
  products(search: $search, first: 100, after: $after) { edges { node { id name unit description imageUrl active
    cost { amount currency } supplier { id name } } } pageInfo { hasNextPage endCursor } }
}`;
const SUPPLIER_CREATE = `mutation ConsoleSupplierCreate($i: SupplierInput!) { supplierCreate(input: $i) { supplier { id name } ${ERR} } }`;
const SUPPLIER_UPDATE = `mutation ConsoleSupplierUpdate($id: ID!, $i: SupplierInput!) { supplierUpdate(id: $id, input: $i) { supplier { id name } ${ERR} } }`;
const SUPPLIER_ARCHIVE = `mutation ConsoleSupplierArchive($id: ID!) { supplierArchive(id: $id) { supplier { id } ${ERR} } }`;
const PRODUCT_CREATE = `mutation ConsoleProductCreate($i: ProductInput!) { productCreate(input: $i) { product { id name } ${ERR} } }`;
const PRODUCT_UPDATE = `mutation ConsoleProductUpdate($id: ID!, $i: ProductInput!) { productUpdate(id: $id, input: $i) { product { id name active } ${ERR} } }`;
const PRODUCT_ARCHIVE = `mutation ConsoleProductArchive($id: ID!) { productArchive(id: $id) { product { id active } ${ERR} } }`;

function supplierForm(supplier, onDone, out) {
  const p = supplier ? `supplier-${supplier.id.replace(/\W/g, '')}` : 'supplier';
  const form = h('form', { class: 'console-form', id: `${p}-form`, novalidate: true },
    field(`${p}-name`, 'console.catalog.supplierName', { required: true, value: supplier ? supplier.name : '', maxlength: 200 }),
    field(`${p}-email`, 'console.catalog.contactEmail', { type: 'email', value: supplier ? supplier.contactEmail || '' : '', autocomplete: 'off' }),
    h('button', { type: 'submit', class: 'primary' }, t(supplier ? 'console.save' : 'console.catalog.supplierCreate')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const input = { name: val(form, `${p}-name`), contactEmail: val(form, `${p}-email`) || null };
    const done = await act(form, out, async () => (supplier
      ? (await gql(SUPPLIER_UPDATE, { id: supplier.id, i: input })).supplierUpdate
      : (await gql(SUPPLIER_CREATE, { i: input })).supplierCreate), t(supplier ? 'console.saved' : 'console.catalog.supplierCreated', { name: input.name }));
    if (done) { if (!supplier) form.reset(); onDone(); }
  });
  return form;
}

function productForm(suppliers, product, onDone, out) {
  const p = product ? `product-${product.id.replace(/\W/g, '')}` : 'product';
  const form = h('form', { class: 'console-form', id: `${p}-form`, novalidate: true },
    field(`${p}-supplier`, 'console.catalog.supplier', { tag: 'select', required: true, value: product ? product.supplier.id : '', options: suppliers.map((s) => [s.id, s.name]) }),
    field(`${p}-name`, 'console.catalog.productName', { required: true, value: product ? product.name : '', maxlength: 200 }),
    field(`${p}-unit`, 'console.catalog.unit', { required: true, value: product ? product.unit : '', maxlength: 50 }, 'console.catalog.unitHint'),
    field(`${p}-cost`, 'console.catalog.cost', { required: true, inputmode: 'decimal', value: product && product.cost ? product.cost.amount : '' }),
    field(`${p}-description`, 'console.catalog.description', { tag: 'textarea', rows: 2 }),
    h('button', { type: 'submit', class: 'primary' }, t(product ? 'console.save' : 'console.catalog.productCreate')));
  if (product && product.description) form.querySelector(`#${p}-description`).value = product.description;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const input = { supplierId: val(form, `${p}-supplier`), name: val(form, `${p}-name`), unit: val(form, `${p}-unit`),
      cost: val(form, `${p}-cost`), description: val(form, `${p}-description`) || null,
      imageUrl: product ? product.imageUrl : null, active: product ? product.active : true };
    const done = await act(form, out, async () => (product
      ? (await gql(PRODUCT_UPDATE, { id: product.id, i: input })).productUpdate
      : (await gql(PRODUCT_CREATE, { i: input })).productCreate), t(product ? 'console.saved' : 'console.catalog.productCreated', { name: input.name }));
    if (done) { if (!product) form.reset(); onDone(); }
  });
  return form;
}

export function render({ main }) {
  const body = h('div');
  const status = feedback({ id: 'catalog-feedback', class: 'feedback sticky' });
  const search = h('input', { id: 'catalog-search', type: 'search', placeholder: t('console.catalog.searchHint'), autocomplete: 'off' });
  let timer = null;
  search.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(load, 300); });
  function load() {
    const q = search.value.trim();
    fill(body, area(async () => ({
      suppliers: await fetchAll(SUPPLIERS, {}, (d) => d.suppliers),
      products: await fetchAll(PRODUCTS, { search: q || null }, (d) => d.products),
      canEditSupplier: await has('supplierUpdate'), canArchiveSupplier: await has('supplierArchive'), canArchiveProduct: await has('productArchive'),
    }), (d) => {
      const suppliers = q ? d.suppliers.filter((s) => s.name.toLowerCase().includes(q.toLowerCase()) || d.products.some((p) => p.supplier.id === s.id)) : d.suppliers;
      const supplierRows = suppliers.map((s) => ({ ...s, count: d.products.filter((p) => p.supplier.id === s.id).length }));
      const supplierActions = (s) => {
        const out = status;
        const bits = [];
        if (d.canEditSupplier) bits.push(h('details', { class: 'edit' }, h('summary', {}, t('console.edit')), supplierForm(s, load, status)));
        if (d.canArchiveSupplier) {
          const b = h('button', { type: 'button', class: 'danger small archive', onclick: async () => {
            if (!await confirmAction(t('console.catalog.archiveSupplierConfirm', { name: s.name }), t('console.archive'))) return;
            if (await act(b, out, async () => (await gql(SUPPLIER_ARCHIVE, { id: s.id })).supplierArchive, t('console.archived'))) setTimeout(load, 600);
          } }, t('console.archive'));
          bits.push(b);
        }
        return h('div', { class: 'row wrap' }, bits);
      };
      const productActions = (pr) => {
        const out = status;
        const b = h('button', { type: 'button', class: 'danger small archive', disabled: !pr.active, onclick: async () => {
          if (!await confirmAction(t('console.catalog.archiveProductConfirm', { name: pr.name }), t('console.archive'))) return;
          const run = d.canArchiveProduct
            ? async () => (await gql(PRODUCT_ARCHIVE, { id: pr.id })).productArchive
            : async () => (await gql(PRODUCT_UPDATE, { id: pr.id, i: { supplierId: pr.supplier.id, name: pr.name, unit: pr.unit, cost: pr.cost ? pr.cost.amount : '0', description: pr.description, imageUrl: pr.imageUrl, active: false } })).productUpdate;
          if (await act(b, out, run, t('console.archived'))) setTimeout(load, 600);
        } }, t('console.archive'));
        return h('div', { class: 'row wrap' }, h('details', { class: 'edit' }, h('summary', {}, t('console.edit')), productForm(d.suppliers, pr, load, status)), b);
      };
      return h('div', { class: 'two-col' },
        section('console.catalog.suppliers',
          supplierRows.length ? table([
            ['console.catalog.supplierName', (s) => s.name],
            ['console.catalog.contactEmail', (s) => s.contactEmail || '—'],
            ['console.catalog.products', (s) => String(s.count), { num: true }],
            ['console.actions', supplierActions],
          ], supplierRows, { id: 'suppliers' }) : empty(t(q ? 'console.noMatch' : 'console.catalog.noSuppliers')),
          h('details', { class: 'create', open: !d.suppliers.length }, h('summary', { id: 'supplier-new' }, t('console.catalog.supplierNew')), supplierForm(null, load, status))),
        section('console.catalog.products',
          d.products.length ? table([
            ['console.catalog.productName', (p) => h('span', { class: p.active ? '' : 'muted' }, p.name, p.active ? '' : ` (${t('console.archived')})`)],
            ['console.catalog.unit', (p) => p.unit],
            ['console.catalog.supplier', (p) => p.supplier.name],
            ['console.catalog.cost', (p) => money(p.cost), { num: true }],
            ['console.actions', productActions],
          ], d.products, { id: 'products' }) : empty(t(q ? 'console.noMatch' : 'console.catalog.noProducts')),
          d.suppliers.length
            ? h('details', { class: 'create', open: !d.products.length }, h('summary', { id: 'product-new' }, t('console.catalog.productNew')), productForm(d.suppliers, null, load, status))
            : h('p', { class: 'hint' }, t('console.catalog.supplierFirst'))));
    }));
  }
  fill(main, h('h1', {}, t('console.catalog.title')),
    h('div', { class: 'field' }, h('label', { for: 'catalog-search' }, t('console.search')), search), status, body);
  load();
  return () => clearTimeout(timer);
}
