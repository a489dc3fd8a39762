// Settings: the tenant's settings (tenantUpdate) and the signed-in user's password (passwordChange).
import { h, fill } from '../dom.js';
import { gql } from '../api.js';
import { session } from '../session.js';
import { t } from '../i18n.js';
import { setTimeZone } from '../format.js';
import { area } from '../ui.js';
import { ERR, act, feedback, field, section, val, whenAvailable } from './kit.js';

const TENANT = `query ConsoleTenant { tenant { id slug name timezone currency paymentMode defaultCommissionRate paymentWindowMinutes defaultLanguage } }`;
const UPDATE = `mutation ConsoleTenantUpdate($i: TenantUpdateInput!) { tenantUpdate(input: $i) { tenant { id name timezone defaultCommissionRate paymentWindowMinutes defaultLanguage } ${ERR} } }`;
const MESSAGE_LANGUAGES = ['zh-CN', 'en'];
const PASSWORD = `mutation ConsolePasswordChange($current: String!, $next: String!) { passwordChange(currentPassword: $current, newPassword: $next) { token ${ERR} } }`;

function tenantForm(me) {
  return area(() => gql(TENANT), ({ tenant: tn }) => {
    const out = feedback({ id: 'tenant-feedback' });
    const form = h('form', { class: 'console-form', id: 'tenant-form', novalidate: true },
      h('p', { class: 'muted' }, t('console.settings.slug', { slug: tn.slug, currency: tn.currency })),
      field('tenant-name', 'console.settings.name', { value: tn.name, required: true, maxlength: 200 }),
      field('tenant-timezone', 'console.settings.timezone', { value: tn.timezone, required: true, list: 'zones' }, 'console.settings.timezoneHint'),
      h('datalist', { id: 'zones' }, ['Asia/Shanghai', 'Asia/Hong_Kong', 'Asia/Taipei', 'Asia/Singapore', 'Asia/Tokyo', 'Europe/London', 'America/New_York'].map((z) => h('option', { value: z }))),
      field('tenant-rate', 'console.settings.defaultRate', { value: tn.defaultCommissionRate, inputmode: 'decimal' }, 'console.settings.rateHint'),
      field('tenant-window', 'console.settings.paymentWindow', { type: 'number', min: '1', value: String(tn.paymentWindowMinutes) }),
      field('tenant-pickup', 'console.settings.pickupWindow', { type: 'number', min: '1', placeholder: t('console.settings.unchanged') }),
      field('tenant-language', 'console.settings.messageLanguage', { tag: 'select', options: MESSAGE_LANGUAGES.map((code) => [code, t(`console.settings.language.${code}`)]), value: tn.defaultLanguage }, 'console.settings.messageLanguageHint'),
      h('button', { type: 'submit', class: 'primary' }, t('console.save')), out);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const i = { name: val(form, 'tenant-name'), timezone: val(form, 'tenant-timezone'), defaultCommissionRate: val(form, 'tenant-rate'),
        paymentWindowMinutes: Number.parseInt(val(form, 'tenant-window'), 10), defaultLanguage: val(form, 'tenant-language') };
      if (val(form, 'tenant-pickup')) i.pickupWindowDays = Number.parseInt(val(form, 'tenant-pickup'), 10);
      const p = await act(form, out, async () => (await gql(UPDATE, { i })).tenantUpdate, t('console.saved'));
      if (p && p.tenant) {
        me.tenant.name = p.tenant.name;
        me.tenant.timezone = p.tenant.timezone;
        setTimeZone(p.tenant.timezone);
        const brand = document.querySelector('.brand-name');
        if (brand) brand.textContent = p.tenant.name;
      }
    });
    return form;
  });
}

function passwordForm() {
  const out = feedback({ id: 'password-feedback' });
  const form = h('form', { class: 'console-form', id: 'password-form', novalidate: true },
    field('password-current', 'console.settings.currentPassword', { type: 'password', required: true, autocomplete: 'current-password' }),
    field('password-new', 'console.settings.newPassword', { type: 'password', required: true, autocomplete: 'new-password', minlength: 10 }, 'console.settings.newPasswordHint'),
    field('password-repeat', 'console.settings.repeatPassword', { type: 'password', required: true, autocomplete: 'new-password' }),
    h('button', { type: 'submit', class: 'primary' }, t('console.settings.changePassword')), out);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (val(form, 'password-new') !== form.querySelector('#password-repeat').value.trim()) {
      fill(out, h('div', { class: 'notice error', role: 'alert' }, h('p', {}, t('console.settings.mismatch'))));
      return;
    }
    const p = await act(form, out, async () => (await gql(PASSWORD, { current: form.querySelector('#password-current').value, next: form.querySelector('#password-new').value })).passwordChange,
      t('console.settings.passwordChanged'));
    if (p) {
      if (p.token) session.save({ token: p.token, slug: session.slug });
      form.reset();
    }
  });
  return form;
}

export function render({ main, me }) {
  fill(main, h('h1', {}, t('console.settings.title')),
    h('div', { class: 'two-col' },
      section('console.settings.tenant', whenAvailable(['tenantUpdate'], 'console.settings.tenant', () => tenantForm(me))),
      section('console.settings.password', whenAvailable(['passwordChange'], 'console.settings.password', passwordForm))));
  return null;
}
