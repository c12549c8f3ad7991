/**
 * ISO-8601 timestamps as Segment-spec clients send them, parsed without Date.parse's leniency
 * ("March 7, 2020" or "2026-02-30" are not timestamps) and without its dependence on the server's
 * time zone: a date-time without an offset is read as UTC.
 */
const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/;

const MAX_DATE_MS = 8.64e15;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function twoDigits(text: string, at: number): number {
  const a = text.charCodeAt(at) - 48;
  const b = text.charCodeAt(at + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/** `YYYY-MM-DDTHH:MM:SS.sssZ`, what nearly every SDK sends (`Date#toISOString`), without the regex. */
function parseCanonical(text: string): number {
  if (
    text.charCodeAt(4) !== 45 ||
    text.charCodeAt(7) !== 45 ||
    text.charCodeAt(10) !== 84 ||
    text.charCodeAt(13) !== 58 ||
    text.charCodeAt(16) !== 58 ||
    text.charCodeAt(19) !== 46 ||
    text.charCodeAt(23) !== 90
  ) {
    return -1;
  }
  const century = twoDigits(text, 0);
  const yy = twoDigits(text, 2);
  const month = twoDigits(text, 5);
  const day = twoDigits(text, 8);
  const hour = twoDigits(text, 11);
  const minute = twoDigits(text, 14);
  const second = twoDigits(text, 17);
  const ms2 = twoDigits(text, 20);
  return canonicalFields(century, yy, month, day, hour, minute, second, ms2, text.charCodeAt(22) - 48);
}

function twoDigitsAt(bytes: Uint8Array, at: number): number {
  const a = bytes[at]! - 48;
  const b = bytes[at + 1]! - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * `parseCanonical` over the 24 ASCII bytes at `at` (the collector's fast path reads timestamps from
 * the request bytes): epoch ms, NaN for an impossible date, -1 when the text is not in that form.
 */
export function parseCanonicalBytes(bytes: Uint8Array, at: number): number {
  if (
    bytes[at + 4] !== 45 ||
    bytes[at + 7] !== 45 ||
    bytes[at + 10] !== 84 ||
    bytes[at + 13] !== 58 ||
    bytes[at + 16] !== 58 ||
    bytes[at + 19] !== 46 ||
    bytes[at + 23] !== 90
  ) {
    return -1;
  }
  const century = twoDigitsAt(bytes, at);
  const yy = twoDigitsAt(bytes, at + 2);
  const month = twoDigitsAt(bytes, at + 5);
  const day = twoDigitsAt(bytes, at + 8);
  const hour = twoDigitsAt(bytes, at + 11);
  const minute = twoDigitsAt(bytes, at + 14);
  const second = twoDigitsAt(bytes, at + 17);
  const ms2 = twoDigitsAt(bytes, at + 20);
  return canonicalFields(century, yy, month, day, hour, minute, second, ms2, bytes[at + 22]! - 48);
}

/** The digits of a canonical timestamp (−1 where a pair was not two digits) → epoch ms, NaN, or −1. */
function canonicalFields(
  century: number,
  yy: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  ms2: number,
  ms3: number,
): number {
  if (century < 0 || yy < 0 || ms2 < 0 || ms3 < 0 || ms3 > 9) return -1;
  const year = century * 100 + yy;
  if (year < 100) return -1;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return NaN;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return NaN;
  return Date.UTC(year, month - 1, day, hour, minute, second, ms2 * 10 + ms3);
}

/** Epoch milliseconds of an ISO-8601 date or date-time, or NaN when the text is not one. */
export function parseIsoTimestamp(text: string): number {
  if (text.length === 24) {
    const ms = parseCanonical(text);
    if (ms !== -1) return ms;
  }
  if (text.length < 10 || text.length > 40) return NaN;
  const m = ISO_RE.exec(text);
  if (m === null) return NaN;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = m[4] === undefined ? 0 : Number(m[4]);
  const minute = m[5] === undefined ? 0 : Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const millis = m[7] === undefined ? 0 : Number(m[7].padEnd(3, '0').slice(0, 3));
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return NaN;
  if (hour > 23 || minute > 59 || second > 59) return NaN;
  let offsetMinutes = 0;
  if (m[9] !== undefined) {
    const oh = Number(m[10]);
    const om = m[11] === undefined ? 0 : Number(m[11]);
    if (oh > 23 || om > 59) return NaN;
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  let ms = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  // Date.UTC maps years 0–99 to 1900–1999.
  if (year < 100) ms = new Date(ms).setUTCFullYear(year);
  return ms - offsetMinutes * 60_000;
}

const DAY_MS = 86_400_000;
// Years 1000–9999 print as four digits; everything else goes through Date#toISOString.
const MIN_FAST_MS = -30_610_224_000_000;
const MAX_FAST_MS = 253_402_300_799_999;
let cachedDayStartMs = Number.NaN;
let cachedDayPrefix = '';

/**
 * `Date#toISOString` without the Date: events of one request fall on the same day, so the
 * `YYYY-MM-DDT` prefix is cached and only the time of day is formatted (three times faster).
 */
export function formatIsoTimestamp(ms: number): string {
  if (!(ms >= MIN_FAST_MS && ms <= MAX_FAST_MS) || !Number.isInteger(ms)) return new Date(ms).toISOString();
  const dayStart = ms - (((ms % DAY_MS) + DAY_MS) % DAY_MS);
  if (dayStart !== cachedDayStartMs) {
    cachedDayPrefix = new Date(dayStart).toISOString().slice(0, 11);
    cachedDayStartMs = dayStart;
  }
  let rest = ms - dayStart;
  const millis = rest % 1000;
  rest = (rest - millis) / 1000;
  const second = rest % 60;
  rest = (rest - second) / 60;
  const minute = rest % 60;
  const hour = (rest - minute) / 60;
  return (
    cachedDayPrefix +
    (hour < 10 ? '0' : '') +
    hour +
    (minute < 10 ? ':0' : ':') +
    minute +
    (second < 10 ? ':0' : ':') +
    second +
    (millis < 10 ? '.00' : millis < 100 ? '.0' : '.') +
    millis +
    'Z'
  );
}

/**
 * Event time by Segment's rule: with `sentAt`, the client's clock offset is removed
 * (`receivedAt − (sentAt − timestamp)`); without it the timestamp is trusted; without a timestamp the
 * event happened when it was received. NaN when the correction leaves the representable date range.
 */
export function computeEventTimeMs(
  timestampMs: number | undefined,
  sentAtMs: number | undefined,
  receivedAtMs: number,
): number {
  if (timestampMs === undefined) return receivedAtMs;
  const ms = sentAtMs === undefined ? timestampMs : receivedAtMs - (sentAtMs - timestampMs);
  return Math.abs(ms) <= MAX_DATE_MS ? ms : NaN;
}
