/**
 * Overlapping a blocking load with a request in flight. Loading a module graph (commander, the CycloneDX
 * library) blocks the event loop for tens of milliseconds; a request that is already on the wire keeps going
 * meanwhile (the kernel and the registry do not wait for us), so its answer is waiting when the load is done.
 *
 * @module
 */

/** How long a request gets to reach the wire before a blocking load starts. */
export const WIRE_MS = 5;

/**
 * Resolve when `request` settles or after `ms`, whichever is first, leaving no timer behind. A fetch only
 * connects and writes its request while the event loop waits for I/O (measured: one timer turn is not enough
 * for a fresh connection through a slow link; 5 ms is), so a blocking load must not start before that.
 *
 * @example
 * ```ts
 * const top = source.manifest();
 * await onTheWire(top, WIRE_MS);
 * const lib = await import("./heavy.ts"); // loads while the registry answers
 * ```
 */
export function onTheWire(request: Promise<unknown>, ms: number = WIRE_MS): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const waited = new Promise<void>((resolve) => timer = setTimeout(resolve, ms));
  return Promise.race([request.then(() => {}, () => {}), waited]).finally(() => clearTimeout(timer));
}
