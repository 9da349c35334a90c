/**
 * Time and randomness for the formatters, as a parameter: formatters never read the clock or the RNG
 * themselves, so given the same {@link Clock} they are pure.
 *
 * `SOURCE_DATE_EPOCH` (https://reproducible-builds.org/specs/source-date-epoch/) fixes the time; formatters
 * that need a unique id derive it from their content instead of the RNG when `sourceDateEpoch` is set.
 *
 * @module
 */

import { UsageError } from "../errors.ts";

/** Where formatters get "now" and random ids from. */
export interface Clock {
  /** The current time (or SOURCE_DATE_EPOCH when set). */
  now(): Date;
  /** SOURCE_DATE_EPOCH in seconds, when the output must be reproducible. */
  sourceDateEpoch?: number;
  /** A random RFC 9562 UUID (only used when `sourceDateEpoch` is unset). */
  randomUUID(): string;
}

/**
 * The real clock, unless `SOURCE_DATE_EPOCH` is set in `env`: then `now()` is that instant and
 * `sourceDateEpoch` is set. A SOURCE_DATE_EPOCH that is not a non-negative integer (seconds) throws
 * {@link UsageError}, as the reproducible-builds spec asks.
 *
 * @example
 * ```ts
 * const clock = systemClock({ SOURCE_DATE_EPOCH: "1700000000" });
 * clock.now().toISOString(); // "2023-11-14T22:13:20.000Z"
 * ```
 */
export function systemClock(env: Record<string, string | undefined>): Clock {
  const raw = env.SOURCE_DATE_EPOCH?.trim();
  if (raw === undefined || raw === "") {
    return { now: () => new Date(), randomUUID: () => crypto.randomUUID() };
  }
  if (!/^\d{1,15}$/.test(raw) || Number(raw) * 1000 > 8.64e15) {
    throw new UsageError(`SOURCE_DATE_EPOCH "${raw.slice(0, 40)}" is not a valid Unix time`, {
      hint: "set it to whole seconds since 1970-01-01T00:00:00Z, e.g. $(git log -1 --format=%ct)",
    });
  }
  const seconds = Number(raw);
  return {
    now: () => new Date(seconds * 1000),
    sourceDateEpoch: seconds,
    randomUUID: () => crypto.randomUUID(),
  };
}

/**
 * RFC 3339 UTC text of a date: `2024-10-13T15:35:38Z`, with a fractional part only when the milliseconds are
 * not zero (`2024-10-13T15:35:38.250Z`).
 */
export function rfc3339(date: Date): string {
  const iso = date.toISOString();
  return iso.endsWith(".000Z") ? `${iso.slice(0, -5)}Z` : iso;
}
