/**
 * Time as the documents write it.
 *
 * @module
 */

/**
 * RFC 3339 UTC text of a date: `2024-10-13T15:35:38Z`, with a fractional part only when the milliseconds are
 * not zero (`2024-10-13T15:35:38.250Z`).
 *
 * @example
 * ```ts
 * rfc3339(new Date(0)); // "1970-01-01T00:00:00Z"
 * ```
 */
export function rfc3339(date: Date): string {
  const iso = date.toISOString();
  return iso.endsWith(".000Z") ? `${iso.slice(0, -5)}Z` : iso;
}
