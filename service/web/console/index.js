// The brand's console: one route (#/console/<screen>/...), each domain's screens in their own module.
// A later feature adds its screen here: [name, menu label key, module].
import { h, fill } from '../dom.js';
import { t } from '../i18n.js';
import './i18n.js';
import * as today from './today.js';
import * as leaders from './leaders.js';
import * as catalog from './catalog.js';
import * as batches from './batches.js';
import * as orders from './orders.js';
import * as reports from './reports.js';
import * as integrations from './integrations.js';
import * as settings from './settings.js';
import * as activity from './activity.js';
import * as coupons from './coupons.js';
import * as withdrawals from './withdrawals.js';

export const SCREENS = [
  ['today', 'console.nav.today', today],
  ['leaders', 'console.nav.leaders', leaders],
  ['catalog', 'console.nav.catalog', catalog],
  ['batches', 'console.nav.batches', batches],
  ['orders', 'console.nav.orders', orders],
  ['coupons', 'console.nav.coupons', coupons],
  ['reports', 'console.nav.reports', reports],
  ['integrations', 'console.nav.integrations', integrations],
  ['settings', 'console.nav.settings', settings],
  ['activity', 'console.nav.activity', activity],
  ['withdrawals', 'console.nav.withdrawals', withdrawals],
];

export function render(ctx) {
  const [screen = 'today', ...rest] = ctx.params;
  const entry = SCREENS.find(([name]) => name === screen);
  if (!entry) { ctx.navigate('#/console/today'); return null; }
  ctx.main.classList.add(`console`, `console-${screen}`);
  fill(ctx.main, h('p', { class: 'loading' }, t('common.loading')));
  return entry[2].render({ ...ctx, params: rest });
}
