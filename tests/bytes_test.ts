/** decodeUtf8: the strict decoder's result (or its refusal), whatever the bytes. */
import assert from "node:assert/strict";
import fc from "fast-check";
import { concatBytes, decodeUtf8 } from "../src/bytes.ts";

const strict = (b: Uint8Array) => new TextDecoder("utf-8", { fatal: true }).decode(b);

function same(bytes: Uint8Array): void {
  let want: string | undefined;
  try {
    want = strict(bytes);
  } catch {
    want = undefined;
  }
  if (want === undefined) assert.throws(() => decodeUtf8(bytes), TypeError);
  else assert.equal(decodeUtf8(bytes), want);
}

Deno.test("decodeUtf8: refuses what the strict decoder refuses, keeps a real U+FFFD and the BOM rule", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  assert.equal(decodeUtf8(enc('{"a":"b"}')), '{"a":"b"}');
  assert.equal(decodeUtf8(enc("a\uFFFDb")), "a\uFFFDb", "a U+FFFD that was there stays");
  assert.equal(
    decodeUtf8(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])),
    "A",
    "a leading BOM is dropped, as fatal does",
  );
  for (
    const bad of [
      [0xff],
      [0xc3], // truncated
      [0xc0, 0x80], // overlong
      [0xed, 0xa0, 0x80], // a surrogate
      [0x7b, 0x22, 0xe2, 0x28, 0xa1, 0x22, 0x7d],
    ]
  ) {
    assert.throws(() => decodeUtf8(new Uint8Array(bad)), TypeError, JSON.stringify(bad));
  }
});

Deno.test("decodeUtf8: the same as the strict decoder over random bytes and random text (fast-check)", () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => same(b)), { numRuns: 2000 });
  fc.assert(
    fc.property(fc.string({ unit: "grapheme", maxLength: 64 }), (s) => same(new TextEncoder().encode(s))),
    { numRuns: 1000 },
  );
});

Deno.test("concatBytes: the chunks in order", () => {
  assert.deepEqual(
    concatBytes([new Uint8Array([1]), new Uint8Array(0), new Uint8Array([2, 3])]),
    new Uint8Array([1, 2, 3]),
  );
  assert.deepEqual(concatBytes([]), new Uint8Array(0));
});
