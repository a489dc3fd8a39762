// Sign in: the tenant comes from the address (/app/<slug>/, the brand's link) or the last sign-in;
// the leader types only a phone number (the local way, 13900000101) or an e-mail, and a password.
import { h, fill } from '../dom.js';
import { gql } from '../api.js';
import { session, tenantFromAddress } from '../session.js';
import { t } from '../i18n.js';
import { explain, message } from '../ui.js';

const TOKEN_CREATE = `mutation TokenCreate($input: TokenCreateInput!) {
  tokenCreate(input: $input) {
    token
    viewer { userId displayName roles tenant { slug name timezone currency } }
    errors { code field message }
  }
}`;
const TENANT = `query TenantSettings { tenant { slug name timezone } }`;

// What was typed survives a re-render (language switch) and failed attempts; the password only in memory.
const draft = { slug: null, login: '', password: '', email: false };
let tenantName = null;

export function render({ main, onSignedIn, flash }) {
  const fixedSlug = tenantFromAddress();
  if (draft.slug === null) draft.slug = fixedSlug || session.slug || '';
  const status = h('div', { class: 'form-status', 'aria-live': 'assertive' });
  const tenantInfo = h('p', { class: 'hint', id: 'tenant-info', 'aria-live': 'polite' }, tenantName ? t('signin.tenantName', { name: tenantName }) : '');

  const field = (id, label, attrs, hint) => h('div', { class: 'field' },
    h('label', { for: id }, label),
    h('input', { id, name: id, required: true, ...attrs, oninput: (e) => { draft[id] = e.target.value; } }),
    hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null);

  // No slug to type when the address or the last sign-in names the tenant; else (an old bookmark of
  // /app/) a folded field, for the rare user without the brand's link.
  const slugInput = field('slug', t('signin.tenant'), {
    value: draft.slug, autocomplete: 'organization', autocapitalize: 'none', spellcheck: 'false',
    pattern: '[a-z0-9-]{3,40}', 'aria-describedby': 'slug-hint tenant-info',
    onchange: (e) => lookUpTenant(e.target.value.trim().toLowerCase(), tenantInfo),
  }, t('signin.tenantHint'));
  const slugField = (fixedSlug || draft.slug)
    ? null
    : h('details', { class: 'tenant-fallback', open: true }, h('summary', {}, t('signin.noLink')), slugInput);
  const submit = h('button', { type: 'submit', class: 'primary wide' }, t('signin.submit'));

  const form = h('form', { class: 'card signin', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    const slug = draft.slug.trim().toLowerCase();
    const missing = [['slug', slug], ['login', draft.login.trim()], ['password', draft.password]].find(([, v]) => !v);
    if (missing) {
      fill(status, message('error', t('signin.missing')));
      form.querySelector(`#${missing[0]}`).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = t('signin.busy');
    fill(status);
    try {
      const data = await gql(TOKEN_CREATE, { input: { login: draft.login.trim(), password: draft.password } },
        { tenant: slug, anonymous: true });
      const payload = data.tokenCreate;
      if (payload.errors.length || !payload.token) {
        const code = payload.errors[0] && payload.errors[0].code;
        const text = code === 'INVALID_CREDENTIALS' ? t('signin.wrong')
          : code === 'RATE_LIMITED' ? t('signin.rateLimited') : payload.errors.map((x) => x.message).join(' ');
        fill(status, message('error', text));
        form.querySelector('#password').select();
        return;
      }
      session.save({ token: payload.token, slug });
      draft.password = '';
      onSignedIn(payload.viewer);
    } catch (err) {
      fill(status, message('error', explain(err)));
    } finally {
      submit.disabled = false;
      submit.textContent = t('signin.submit');
    }
  } },
  slugField, tenantInfo,
  field('login', t(draft.email ? 'signin.email' : 'signin.phone'), {
    value: draft.login, autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false',
    type: draft.email ? 'email' : 'tel', inputmode: draft.email ? 'email' : 'tel',
    placeholder: draft.email ? '' : '13900000101',
  }),
  field('password', t('signin.password'), { type: 'password', value: draft.password, autocomplete: 'current-password' }),
  status, submit,
  h('button', { type: 'button', class: 'link switch-login', id: 'login-kind', onclick: () => {
    draft.email = !draft.email;
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  } }, t(draft.email ? 'signin.usePhone' : 'signin.useEmail')));

  fill(main,
    h('h1', {}, t('signin.title')),
    h('p', { class: 'lead' }, t('signin.intro')),
    flash ? message('warning', t(flash)) : null,
    form,
    h('section', { class: 'developers', 'aria-labelledby': 'dev-title' },
      h('h2', { id: 'dev-title' }, t('signin.developers')),
      h('ul', {},
        h('li', {}, h('a', { href: '/graphql', id: 'graphiql-link' }, t('signin.graphiql'))),
        h('li', {}, h('a', { href: '#/schema', id: 'schema-link' }, t('signin.schema'))))));

  if (draft.slug && !tenantName) lookUpTenant(draft.slug, tenantInfo);
}

/** Shows the tenant's name (the language stays the browser's or the user's choice). */
async function lookUpTenant(slug, infoEl) {
  tenantName = null;
  infoEl.textContent = '';
  if (!/^[a-z0-9-]{3,40}$/.test(slug)) return;
  try {
    const { tenant } = await gql(TENANT, {}, { tenant: slug, anonymous: true });
    tenantName = tenant.name;
    infoEl.textContent = t('signin.tenantName', { name: tenant.name });
  } catch (err) {
    infoEl.textContent = err.kind === 'tenant' ? t('error.tenant') : '';
  }
}
