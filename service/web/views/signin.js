// Sign in: tenant (from the address or typed), phone or e-mail, password -> tokenCreate with X-Tenant.
import { h, fill } from '../dom.js';
import { gql } from '../api.js';
import { session, tenantFromAddress } from '../session.js';
import { lang, resolveLang, setLang, t } from '../i18n.js';
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
const draft = { slug: null, login: '', password: '' };
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

  const slugField = field('slug', t('signin.tenant'), {
    value: draft.slug, autocomplete: 'organization', autocapitalize: 'none', spellcheck: 'false',
    pattern: '[a-z0-9-]{3,40}', 'aria-describedby': 'slug-hint tenant-info', readonly: fixedSlug ? true : null,
    onchange: (e) => lookUpTenant(e.target.value.trim().toLowerCase(), tenantInfo),
  }, t('signin.tenantHint'));
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
  field('login', t('signin.login'), { value: draft.login, autocomplete: 'username', autocapitalize: 'none', inputmode: 'email', spellcheck: 'false' }),
  field('password', t('signin.password'), { type: 'password', value: draft.password, autocomplete: 'current-password' }),
  status, submit);

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

/** Shows the tenant's name and switches to its language (unless the user chose one). */
async function lookUpTenant(slug, infoEl) {
  tenantName = null;
  infoEl.textContent = '';
  if (!/^[a-z0-9-]{3,40}$/.test(slug)) return;
  try {
    const { tenant } = await gql(TENANT, {}, { tenant: slug, anonymous: true });
    tenantName = tenant.name;
    const wanted = resolveLang(tenant.timezone);
    if (wanted !== lang()) {
      setLang(wanted);
      window.dispatchEvent(new HashChangeEvent('hashchange')); // re-render in the tenant's language
      return;
    }
    infoEl.textContent = t('signin.tenantName', { name: tenant.name });
  } catch (err) {
    infoEl.textContent = err.kind === 'tenant' ? t('error.tenant') : '';
  }
}
