// Timestamps are RFC 3339 strings in UTC with six fractional digits
// ("2026-11-23T21:57:52.123456Z") in the TypeScript type and the Qdrant payload,
// and Avro `long` timestamp-micros on the wire.
//
// Why a string and not a number of microseconds: the payload is what people
// filter and read, and Qdrant's datetime index takes RFC 3339 directly, so the
// one shape end to end is the string. Microseconds since the epoch fit a JS
// number exactly (2^53 µs is about 285 years either side of 1970), so the wire
// form converts without loss; a Date would drop the last three digits.
import { performance } from 'node:perf_hooks';
import { InvalidEntryError } from './errors.js';
import { reasons } from './reasons.js';
import { validationTable } from './generated/validation-table.js';

const FORMAT = reasons.timestampFormat;
const RANGE = reasons.timestampRange;
// avsc refuses the outermost safe integers (±(2^53 - 1)) as longs, so the range stops two short.
const MAX_MICROS = validationTable.timestampMaxMicros;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const FRACTION_SCALE = [1, 100_000, 10_000, 1_000, 100, 10, 1];

const MICROS_PER_DAY = 86_400_000_000;
const TWO_DIGITS = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));

/**
 * `YYYY-MM-DDTHH:MM:SS.ffffffZ` for a count of microseconds since the epoch
 * (UTC). Calendar arithmetic by hand (Howard Hinnant's days-to-civil) because
 * Date#toISOString took 1.2 µs, most of the cost of decoding an entry.
 */
export function timestampFromMicros(micros: number): string {
  if (!isMicros(micros)) throw new InvalidEntryError('timestamp', micros, RANGE);
  const days = Math.floor(micros / MICROS_PER_DAY);
  const ofDay = micros - days * MICROS_PER_DAY;
  const secondOfDay = Math.floor(ofDay / 1_000_000);
  const fraction = ofDay - secondOfDay * 1_000_000;

  const z = days + 719_468; // days since 0000-03-01
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153); // month from March = 0
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);

  const hour = Math.floor(secondOfDay / 3600);
  const minute = Math.floor((secondOfDay - hour * 3600) / 60);
  const second = secondOfDay - hour * 3600 - minute * 60;
  const high = Math.floor(fraction / 10_000);
  const low = fraction - high * 10_000;
  const mid = Math.floor(low / 100);
  // The safe range (years 1685..2255) always has four-digit years.
  return (
    `${TWO_DIGITS[Math.floor(year / 100)]!}${TWO_DIGITS[year % 100]!}-${TWO_DIGITS[month]!}-${TWO_DIGITS[day]!}` +
    `T${TWO_DIGITS[hour]!}:${TWO_DIGITS[minute]!}:${TWO_DIGITS[second]!}` +
    `.${TWO_DIGITS[high]!}${TWO_DIGITS[mid]!}${TWO_DIGITS[low - mid * 100]!}Z`
  );
}

/** Microseconds since the epoch; throws InvalidEntryError (field `timestamp`) for anything else. */
export function timestampToMicros(timestamp: string): number {
  const micros = parseTimestamp(timestamp);
  if (typeof micros === 'string') throw new InvalidEntryError('timestamp', timestamp, micros);
  return micros;
}

/**
 * Microseconds, or the reason the value is not a timestamp. Hand-written rather
 * than Date.parse: Date.parse accepts 2026-02-30 (as 2026-03-02) and drops
 * digits past the millisecond, and this runs on the serving path.
 */
export function parseTimestamp(value: unknown): number | string {
  // validateEntry and the encoder both parse the same string, one after the other.
  if (value === lastParsed) return lastMicros;
  const result = parse(value);
  if (typeof result === 'number') {
    lastParsed = value as string;
    lastMicros = result;
  }
  return result;
}

let lastParsed = '';
let lastMicros = 0;

function parse(value: unknown): number | string {
  if (typeof value !== 'string') return FORMAT;
  const n = value.length;
  // 20 chars without a fraction, 22..27 with one to six digits.
  if (n !== 20 && (n < 22 || n > 27)) return FORMAT;
  if (
    value.charCodeAt(4) !== 45 || value.charCodeAt(7) !== 45 || value.charCodeAt(10) !== 84 ||
    value.charCodeAt(13) !== 58 || value.charCodeAt(16) !== 58 || value.charCodeAt(n - 1) !== 90
  ) {
    return FORMAT;
  }
  const year = digits(value, 0, 4);
  const month = digits(value, 5, 7);
  const day = digits(value, 8, 10);
  const hour = digits(value, 11, 13);
  const minute = digits(value, 14, 16);
  const second = digits(value, 17, 19);
  let fraction = 0;
  if (n > 20) {
    if (value.charCodeAt(19) !== 46) return FORMAT;
    fraction = digits(value, 20, n - 1) * FRACTION_SCALE[n - 21]!;
  }
  if ((year | month | day | hour | minute | second | fraction) < 0) return FORMAT;
  const leap = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month - 1]! + (leap ? 1 : 0)) {
    return reasons.timestampDate;
  }
  if (hour > 23 || minute > 59 || second > 59) return reasons.timestampTime;
  // Date.UTC maps years 0..99 to 1900..1999; those are out of range anyway.
  if (year < 100) return RANGE;
  const micros = Date.UTC(year, month - 1, day, hour, minute, second) * 1000 + fraction;
  return isMicros(micros) ? micros : RANGE;
}

function isMicros(micros: number): boolean {
  return Number.isInteger(micros) && micros >= -MAX_MICROS && micros <= MAX_MICROS;
}

/** Decimal value of value[start..end), or -1 if any character is not a digit. */
function digits(value: string, start: number, end: number): number {
  let result = 0;
  for (let i = start; i < end; i++) {
    const d = value.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    result = result * 10 + d;
  }
  return result;
}

// performance.now() has sub-millisecond resolution but is monotonic: it does not
// follow steps of the wall clock (NTP corrections, VM resume). Re-anchor to
// Date.now() when the two disagree by more than a millisecond, so a serving
// process that runs for months still stamps wall-clock time.
let anchorMicros = Math.round(performance.timeOrigin * 1000);

/** Wall-clock microseconds since the epoch, with sub-millisecond digits. */
export function nowMicros(): number {
  const elapsed = Math.round(performance.now() * 1000);
  const wall = Date.now() * 1000;
  let micros = anchorMicros + elapsed;
  // Date.now() truncates to the millisecond: an accurate clock reads 0..999 µs ahead of it.
  if (micros < wall - 1000 || micros > wall + 2000) {
    anchorMicros = wall + 500 - elapsed;
    micros = wall + 500;
  }
  return micros;
}

/** The current time as an entry timestamp. */
export function nowTimestamp(): string {
  return timestampFromMicros(nowMicros());
}
