/**
 * Time and randomness for the formatters, as a parameter: formatters never read the clock or the RNG
 * themselves, so given the same {@link Clock} they are pure.
 *
 * A fixed clock stands for `SOURCE_DATE_EPOCH` (https://reproducible-builds.org/specs/source-date-epoch/):
 * formatters that need a unique id derive it from their content instead of the RNG when `sourceDateEpoch` is
 * set.
 *
 * @module
 */

/** Where formatters get "now" and random ids from. */
export interface Clock {
  /** The current time (or the fixed instant). */
  now(): Date;
  /** The fixed instant in seconds (SOURCE_DATE_EPOCH), when the output must be reproducible. */
  sourceDateEpoch?: number;
  /** A random RFC 9562 UUID (only used when `sourceDateEpoch` is unset). */
  randomUUID(): string;
}

/** The real clock and RNG. */
export function systemClock(): Clock {
  return { now: () => new Date(), randomUUID: () => crypto.randomUUID() };
}

/**
 * A clock stopped at `seconds` since the epoch, for reproducible output.
 *
 * @example
 * ```ts
 * fixedClock(1700000000).now().toISOString(); // "2023-11-14T22:13:20.000Z"
 * ```
 */
export function fixedClock(seconds: number): Clock {
  return {
    now: () => new Date(seconds * 1000),
    sourceDateEpoch: seconds,
    randomUUID: () => crypto.randomUUID(),
  };
}
