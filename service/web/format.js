// Showing money, times and durations. Times display in the tenant's time zone, not the device's.
import { lang, t } from './i18n.js';

let zone = 'Asia/Shanghai';
export function setTimeZone(tz) { if (tz) zone = tz; }
export function timeZone() { return zone; }

// Wall-clock parts of an instant in the tenant's zone.
function zoned(when) {
  return Object.fromEntries(new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' })
    .formatToParts(when).map((p) => [p.type, p.value]));
}

/** The tenant's calendar day of an instant (default now), as reports and balances count days: "2026-12-08". */
export function zonedDay(when = new Date()) {
  const p = zoned(when);
  return `${p.year}-${p.month}-${p.day}`;
}

/** The tenant's month of an instant (default now): "2026-12". */
export function zonedMonth(when = new Date()) {
  return zonedDay(when).slice(0, 7);
}

/** ISO -> the tenant's wall-clock time for a datetime-local input. */
export function isoToZoned(iso) {
  const p = zoned(new Date(iso));
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}

/** A datetime-local value read as the tenant's wall-clock time -> ISO 8601 in UTC; '' -> null. */
export function zonedToIso(local) {
  if (!local) return null;
  const [d, tm] = local.split('T');
  const [y, mo, da] = d.split('-').map(Number);
  const [hh, mi] = tm.split(':').map(Number);
  const guess = Date.UTC(y, mo - 1, da, hh, mi);
  const p = zoned(new Date(guess));
  const asZone = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute);
  return new Date(guess - (asZone - guess)).toISOString();
}

export function money(m) {
  if (!m) return '';
  try {
    return new Intl.NumberFormat(lang(), { style: 'currency', currency: m.currency }).format(Number(m.amount));
  } catch {
    return `${m.amount} ${m.currency}`;
  }
}

/** Decimal string -> integer minor units (BigInt), so sums are exact: "12.5" -> 1250n with 2 digits. */
export function toMinor(amount, digits = 2) {
  const negative = String(amount).trim().startsWith('-');
  const [whole, frac = ''] = String(amount).replace('-', '').trim().split('.');
  const minor = BigInt(whole || '0') * 10n ** BigInt(digits) + BigInt((frac + '0'.repeat(digits)).slice(0, digits) || '0');
  return negative ? -minor : minor;
}

export function fromMinor(minor, currency, digits = 2) {
  const negative = minor < 0n;
  const abs = negative ? -minor : minor;
  const base = 10n ** BigInt(digits);
  const frac = digits ? '.' + String(abs % base).padStart(digits, '0') : '';
  return { amount: `${negative ? '-' : ''}${abs / base}${frac}`, currency };
}

export function dateTime(iso) {
  if (!iso) return '';
  return new Intl.DateTimeFormat(lang(), {
    timeZone: zone, month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false,
  }).format(new Date(iso));
}

/** A GraphQL Date ("2025-06-01") is already in the tenant's zone: format it without shifting. */
export function date(ymd) {
  if (!ymd) return '';
  const [y, m, d] = ymd.split('-').map(Number);
  return new Intl.DateTimeFormat(lang(), { timeZone: 'UTC', month: 'short', day: 'numeric', weekday: 'short' })
    .format(new Date(Date.UTC(y, m - 1, d)));
}

export function countdown(closesAtIso, now = Date.now()) {
  const left = Math.floor((new Date(closesAtIso).getTime() - now) / 1000);
  if (left <= 0) return null;
  const two = (n) => String(n).padStart(2, '0');
  const d = Math.floor(left / 86400);
  const params = { d, h: two(Math.floor((left % 86400) / 3600)), m: two(Math.floor((left % 3600) / 60)), s: two(left % 60) };
  return t(d ? 'duration.dhms' : 'duration.hms', params);
}

/** A phone number the local way: +8613900000101 -> 139 0000 0101; other countries keep their code. */
export function localPhone(e164) {
  const s = String(e164 || '');
  const cn = /^\+86(1\d{10})$/.exec(s);
  if (cn) return `${cn[1].slice(0, 3)} ${cn[1].slice(3, 7)} ${cn[1].slice(7)}`;
  return s;
}

/** Shown to the leader at the counter: 139****0101 (the call button dials the whole number). */
export function maskedPhone(e164) {
  const s = String(e164 || '');
  const cn = /^\+86(1\d{10})$/.exec(s);
  if (cn) return `${cn[1].slice(0, 3)}****${cn[1].slice(7)}`;
  return s.length > 4 ? `${'*'.repeat(Math.max(0, s.length - 8))}${s.slice(0, 4)}****${s.slice(-4)}`.replace(/^\*+/, '') : s;
}

export function telHref(e164) { return `tel:${String(e164 || '').replace(/[^+\d]/g, '')}`; }
