// Reports: salesReport over a period grouped by day, batch, leader, pickup point, product or supplier;
// a bar chart drawn in the page as SVG; the table as CSV (UTF-8 with a BOM).
import { h, fill } from '../dom.js';
import { gql, download } from '../api.js';
import { t } from '../i18n.js';
import { money, zonedDay } from '../format.js';
import { area, empty } from '../ui.js';
import { downloadCsv, field, section, table, whenAvailable } from './kit.js';

const REPORT = `query ConsoleSalesReport($input: SalesReportInput!) { salesReport(input: $input) {
  rows { key label orders customers units gmv { amount currency } refunded { amount currency } }
  total { key label orders customers units gmv { amount currency } refunded { amount currency } } csvUrl } }`;
const GROUPS = ['DAY', 'BATCH', 'LEADER', 'PICKUP_POINT', 'PRODUCT', 'SUPPLIER'];
const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/** Horizontal bars of GMV per row: readable on a phone, labels never overlap. */
export function barChart(rows, title) {
  const max = Math.max(...rows.map((r) => Number(r.gmv.amount)), 0) || 1;
  const rowH = rows.length > 12 ? 24 : 30;
  const width = 720;
  const labelW = 170;
  const height = rows.length * rowH + 10;
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': title, class: 'chart', id: 'report-chart' }, svg('title', {}, title));
  rows.forEach((r, i) => {
    const y = i * rowH + 5;
    const w = Math.max(1, Math.round((Number(r.gmv.amount) / max) * (width - labelW - 110)));
    root.append(
      svg('text', { x: labelW - 8, y: y + rowH / 2 + 5, 'text-anchor': 'end', class: 'chart-label' }, r.label.length > 18 ? `${r.label.slice(0, 17)}…` : r.label),
      svg('rect', { x: labelW, y: y + 3, width: w, height: rowH - 8, rx: 3, class: 'chart-bar' }),
      svg('text', { x: labelW + w + 6, y: y + rowH / 2 + 5, class: 'chart-value' }, money(r.gmv)));
  });
  return root;
}

// Days in the tenant's zone, as the report counts them (not UTC's, nor the browser's).
export function render({ main, query, navigate }) {
  const group = GROUPS.includes(query.group) ? query.group : 'DAY';
  const to = query.to || zonedDay();
  const from = query.from || zonedDay(new Date(Date.now() - 29 * 86400e3));
  const form = h('form', { class: 'filters', id: 'report-form' },
    field('report-from', 'console.reports.from', { type: 'date', value: from, required: true }),
    field('report-to', 'console.reports.to', { type: 'date', value: to, required: true }),
    field('report-group', 'console.reports.groupBy', { tag: 'select', value: group, options: GROUPS.map((g) => [g, t(`console.reports.group.${g}`)]) }),
    h('div', { class: 'field' }, h('span', { class: 'label-spacer', 'aria-hidden': 'true' }, ' '), h('button', { type: 'submit', class: 'primary' }, t('console.reports.run'))));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const qs = new URLSearchParams({ from: form.querySelector('#report-from').value, to: form.querySelector('#report-to').value, group: form.querySelector('#report-group').value });
    navigate(`#/console/reports?${qs}`);
  });
  const columns = [
    ['console.reports.key', (r) => r.label],
    ['console.reports.orders', (r) => String(r.orders), { num: true }],
    ['console.reports.customers', (r) => String(r.customers), { num: true }],
    ['console.reports.units', (r) => String(r.units), { num: true }],
    ['console.reports.gmv', (r) => money(r.gmv), { num: true }],
    ['console.reports.refunded', (r) => money(r.refunded), { num: true }],
  ];
  fill(main, h('h1', {}, t('console.reports.title')), whenAvailable(['salesReport'], 'console.nav.reports', () => h('div', {}, form,
    area(() => gql(REPORT, { input: { from, to, groupBy: group } }), ({ salesReport: r }) => {
      if (!r.rows.length) return empty(t('console.reports.none'));
      const title = t('console.reports.chartTitle', { group: t(`console.reports.group.${group}`) });
      const csv = () => downloadCsv(`sales-${group.toLowerCase()}-${from}-${to}.csv`,
        columns.map(([key]) => t(key)), [...r.rows, { ...r.total, label: t('console.reports.total') }].map((x) => [x.label, x.orders, x.customers, x.units, x.gmv.amount, x.refunded.amount]));
      return h('div', {},
        section('console.reports.chart', h('div', { class: 'chart-wrap' }, barChart(r.rows, title))),
        section('console.reports.table', h('div', { class: 'row wrap actions' },
          h('button', { type: 'button', class: 'secondary', id: 'report-csv', onclick: csv }, t('console.reports.csv')),
          h('button', { type: 'button', class: 'secondary', id: 'report-csv-server', onclick: () => download(r.csvUrl, `sales-${group.toLowerCase()}-${from}-${to}-server.csv`).catch(() => {}) }, t('console.reports.csvServer'))),
        table(columns, [...r.rows, { ...r.total, label: t('console.reports.total'), key: '_total' }], { id: 'report-table' })));
    }))));
  return null;
}
