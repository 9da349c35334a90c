/**
 * Golden files in fixtures/golden/: compare bytes exactly; `UPDATE_GOLDEN=1` rewrites them instead.
 *
 * @module
 */

import assert from "node:assert/strict";

/** Assert `bytes` equal fixtures/golden/`name` byte for byte (or rewrite it with UPDATE_GOLDEN=1). */
export async function golden(name: string, bytes: Uint8Array): Promise<void> {
  const url = new URL(`../../fixtures/golden/${name}`, import.meta.url);
  if (Deno.env.get("UPDATE_GOLDEN") === "1") {
    await Deno.mkdir(new URL(".", url), { recursive: true });
    await Deno.writeFile(url, bytes);
    return;
  }
  let expected: Uint8Array;
  try {
    expected = await Deno.readFile(url);
  } catch (err) {
    throw new Error(`golden file ${name} missing (${err}); run with UPDATE_GOLDEN=1 to create it`);
  }
  const dec = new TextDecoder();
  assert.equal(dec.decode(bytes), dec.decode(expected), `${name} differs; UPDATE_GOLDEN=1 regenerates it`);
  assert.deepEqual(bytes, expected);
}
