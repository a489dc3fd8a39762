// What every console screen shares: the served schema's capabilities, forms that cannot be sent twice,
// payload errors in the user's language, confirmation before destructive actions, tables, CSV.
import { h, fill } from '../dom.js';
import { gql } from '../api.js';
import { t } from '../i18n.js';
import { explain, message } from '../ui.js';

const CAPABILITIES = `query ConsoleCapabilities {
  q: __type(name: "Query") { fields { name } }
  m: __type(name: "Mutation") { fields { name } }
}`;
let capabilities = null;

/** The served schema's Query and Mutation field names; null when introspection is off (then try and see). */
export function schemaFields() {
  if (!capabilities) {
    capabilities = gql(CAPABILITIES).then((d) => new Set([...d.q.fields, ...d.m.fields].map((f) => f.name)))
      .catch((e) => { capabilities = null; if (e && e.kind === 'graphql') return null; throw e; });
  }
  return capabilities;
}

/** True when every named field is served (or when the schema cannot be read: the request will tell). */
export async function has(...names) {
  const fields = await schemaFields();
  return !fields || names.every((n) => fields.has(n));
}

/** An error that means "this server does not have that part of the API yet". */
export function isMissingApi(error) {
  return !!error && error.kind === 'graphql' && /Cannot query field|Unknown (type|argument)/.test(error.message || '');
}

export function unavailable(featureKey) {
  return h('div', { class: 'notice warning unavailable', role: 'status' },
    h('p', {}, h('strong', {}, t('console.unavailable.title'))),
    h('p', {}, t('console.unavailable.body', { feature: t(featureKey) })));
}

/** Shows `render()` when the API has every field in `names`, else a clear "not available" state. */
export function whenAvailable(names, featureKey, render) {
  const el = h('div', { class: 'gate' });
  has(...names).then((ok) => fill(el, ok ? render() : unavailable(featureKey)))
    .catch((e) => fill(el, message('error', explain(e))));
  return el;
}

/** A payload's UserErrors in the UI's language (the server's messages are English). */
export function payloadErrorText(errors) {
  return errors.map((e) => {
    const field = e.field && e.field.length ? e.field[e.field.length - 1] : null;
    const label = field ? t(`field.${field}`) : null;
    const text = t(`code.${e.code}`);
    const known = text !== `code.${e.code}`;
    const base = known ? text : t('code.OTHER');
    return label && label !== `field.${field}` ? `${label}: ${base}` : base;
  }).join(' ');
}

/** A place on the page where an action's outcome is shown (role=status or alert). */
export function feedback(attrs = {}) {
  return h('div', { class: 'feedback', 'aria-live': 'polite', ...attrs });
}

export function say(where, kind, text) {
  if (!where) return;
  fill(where, message(kind, text));
  if (kind === 'success') where.dataset.outcome = 'success'; else where.dataset.outcome = kind;
}

const inFlight = new WeakSet();

/**
 * Runs one mutation for a button or form: disabled and busy while it runs (a second tap does nothing),
 * then success text, or the payload errors / transport error. `run()` returns the payload
 * (with `errors`); returns it too, or null when it failed.
 */
export async function act(control, where, run, successText) {
  if (inFlight.has(control)) return null;
  inFlight.add(control);
  const buttons = control.tagName === 'FORM' ? [...control.querySelectorAll('button')] : [control];
  buttons.forEach((b) => { b.disabled = true; b.setAttribute('aria-busy', 'true'); });
  if (where) fill(where, h('p', { class: 'loading', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), t('common.saving')));
  try {
    const payload = await run();
    if (payload && payload.errors && payload.errors.length) {
      say(where, 'error', payloadErrorText(payload.errors));
      return null;
    }
    if (successText) say(where, 'success', typeof successText === 'function' ? successText(payload) : successText);
    else if (where) where.replaceChildren();
    return payload || {};
  } catch (e) {
    say(where, 'error', isMissingApi(e) ? t('console.unavailable.title') : explain(e));
    return null;
  } finally {
    inFlight.delete(control);
    buttons.forEach((b) => { b.disabled = false; b.removeAttribute('aria-busy'); });
  }
}

/** Asks before a destructive action, in a modal <dialog>; resolves true on "yes". */
export function confirmAction(text, yesLabel, { reason = false } = {}) {
  return new Promise((resolve) => {
    const input = reason ? h('input', { id: 'confirm-reason', required: true, autocomplete: 'off' }) : null;
    const dialog = h('dialog', { class: 'confirm', 'aria-labelledby': 'confirm-text' },
      h('form', { method: 'dialog' },
        h('p', { id: 'confirm-text' }, text),
        input ? h('div', { class: 'field' }, h('label', { for: 'confirm-reason' }, t('console.reason')), input) : null,
        h('div', { class: 'row end wrap actions' },
          h('button', { type: 'submit', value: 'no', class: 'secondary', id: 'confirm-no' }, t('common.cancel')),
          h('button', { type: 'submit', value: 'yes', class: 'danger', id: 'confirm-yes' }, yesLabel))));
    dialog.addEventListener('close', () => {
      const yes = dialog.returnValue === 'yes';
      dialog.remove();
      resolve(yes ? (reason ? input.value.trim() : true) : false);
    });
    dialog.querySelector('form').addEventListener('submit', (e) => {
      if (e.submitter && e.submitter.value === 'yes' && input && !input.value.trim()) {
        e.preventDefault();
        input.focus();
      }
    });
    document.body.append(dialog);
    dialog.showModal();
    (input || dialog.querySelector('#confirm-no')).focus();
  });
}

/** A labelled input: field('batch-title', 'console.batches.title', {required: true}). */
export function field(id, labelKey, attrs = {}, hintKey = null) {
  const tag = attrs.tag || 'input';
  const { tag: _tag, options, ...rest } = attrs;
  const control = tag === 'select'
    ? h('select', { id, name: id, ...rest }, (options || []).map(([value, label]) => h('option', { value, selected: value === rest.value }, label)))
    : h(tag, { id, name: id, ...rest });
  return h('div', { class: 'field' }, h('label', { for: id }, t(labelKey)), control,
    hintKey ? h('span', { class: 'hint' }, t(hintKey)) : null);
}

export function val(form, id) {
  const el = form.querySelector(`#${id}`);
  return el ? el.value.trim() : '';
}

/** A table: columns [[labelKey, cell(row) -> node|string, {num}]], rows; a caption is optional. */
export function table(columns, rows, attrs = {}) {
  return h('div', { class: 'table-wrap' }, h('table', attrs,
    h('thead', {}, h('tr', {}, columns.map(([key, , opts]) => h('th', { class: opts && opts.num ? 'num' : null, scope: 'col' }, t(key))))),
    h('tbody', {}, rows.map((row) => h('tr', { dataset: row.id ? { id: row.id } : {} },
      columns.map(([, cell, opts]) => h('td', { class: opts && opts.num ? 'num' : null }, cell(row))))))));
}

/** Every page of a connection (up to `max` pages). */
export async function fetchAll(query, variables, pick, max = 20) {
  const out = [];
  let after = null;
  for (let i = 0; i < max; i += 1) {
    const conn = pick(await gql(query, { ...variables, after }));
    out.push(...conn.edges.map((e) => e.node));
    if (!conn.pageInfo.hasNextPage) break;
    after = conn.pageInfo.endCursor;
  }
  return out;
}

function csvCell(v) {
  const s = v === null || v === undefined ? '' : String(v);
  // A leading = + - @ would be a formula in a spreadsheet.
  const safe = /^[=+\-@\t\r]/.test(s) && !/^-?\d+(\.\d+)?$/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** Saves rows as a UTF-8 CSV with a BOM (so spreadsheet programs read Chinese correctly). */
export function downloadCsv(filename, header, rows) {
  const text = [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\r\n');
  const blob = new Blob(['\ufeff', text], { type: 'text/csv;charset=utf-8' });
  const href = URL.createObjectURL(blob);
  const a = Object.assign(document.createElement('a'), { href, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 10000);
}

export function section(titleKey, ...children) {
  return h('section', { class: 'card console-section' }, h('h2', {}, t(titleKey)), children);
}

export const ERR = 'errors { code field message }';
