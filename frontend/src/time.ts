// Times of versions: "3 minutes ago" in lists, the exact local time on hover.

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60]
];

const relative = {
  long: new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' }),
  short: new Intl.RelativeTimeFormat(undefined, { numeric: 'auto', style: 'short' })
};
const exact = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const short = new Intl.DateTimeFormat(undefined, { dateStyle: 'short', timeStyle: 'short' });

/** "just now", "5 minutes ago", "yesterday"... relative to now ("5 min. ago" in the short style, for columns). */
export function relativeTime(time: string | Date, now: number = Date.now(), style: 'long' | 'short' = 'long'): string {
  const t = typeof time === 'string' ? Date.parse(time) : time.getTime();
  if (Number.isNaN(t)) {
    return String(time);
  }
  const seconds = Math.round((t - now) / 1000);
  if (Math.abs(seconds) < 45) {
    return 'just now';
  }
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size || unit === 'minute') {
      return relative[style].format(Math.round(seconds / size), unit);
    }
  }
  return 'just now';
}

/** The full local date and time (for tooltips). */
export function exactTime(time: string): string {
  const t = Date.parse(time);
  return Number.isNaN(t) ? time : exact.format(t);
}

/** A compact local date and time for headers. */
export function shortTime(time: string): string {
  const t = Date.parse(time);
  return Number.isNaN(t) ? time : short.format(t);
}
