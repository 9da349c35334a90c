/**
 * Digests: parsing and validation of `algorithm:hex`, hashing of bytes and streams, verification.
 */

import assert from "node:assert/strict";
import { DigestMismatchError, ManifestError, ToolError } from "../src/errors.ts";
import {
  digestOf,
  isDigest,
  parseDigest,
  sha256Stream,
  verifiedUse,
  verifyDigest,
  verifySize,
} from "../src/digest.ts";

const enc = new TextEncoder();
const EMPTY_SHA256 = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const ABC_SHA256 = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const ABC_SHA384 =
  "sha384:cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7";
const ABC_SHA512 =
  "sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";

Deno.test("parseDigest accepts sha256, sha384 and sha512 with lower-case hex of the right length", () => {
  assert.deepStrictEqual(parseDigest(ABC_SHA256), { algorithm: "sha256", hex: ABC_SHA256.slice(7) });
  assert.deepStrictEqual(parseDigest(ABC_SHA384), { algorithm: "sha384", hex: ABC_SHA384.slice(7) });
  assert.deepStrictEqual(parseDigest(ABC_SHA512), { algorithm: "sha512", hex: ABC_SHA512.slice(7) });
  assert.equal(isDigest(EMPTY_SHA256), true);
});

const INVALID: [string, RegExp][] = [
  ["", /invalid digest ""/],
  ["sha256", /expected sha256/],
  ["sha256:", /expected sha256/],
  [`sha256:${"A".repeat(64)}`, /64 lower-case hex digits/],
  [`sha256:${"a".repeat(63)}`, /64 lower-case hex digits/],
  [`sha256:${"a".repeat(65)}`, /64 lower-case hex digits/],
  [`sha256:${"g".repeat(64)}`, /64 lower-case hex digits/],
  [`sha256:${"a".repeat(96)}`, /64 lower-case hex digits/],
  [`sha384:${"a".repeat(64)}`, /96 lower-case hex digits/],
  [`sha512:${"a".repeat(64)}`, /128 lower-case hex digits/],
  [`SHA256:${"a".repeat(64)}`, /expected sha256/],
  [`md5:${"a".repeat(32)}`, /expected sha256/],
  [`sha1:${"a".repeat(40)}`, /expected sha256/],
  [`blake3:${"a".repeat(64)}`, /expected sha256/],
  [`sha256+b64u:${"a".repeat(64)}`, /expected sha256/],
  [`constructor:${"a".repeat(64)}`, /expected sha256/],
  [`toString:${"a".repeat(64)}`, /expected sha256/],
  [`__proto__:${"a".repeat(64)}`, /expected sha256/],
  [` sha256:${"a".repeat(64)}`, /expected sha256/],
  [`sha256:${"a".repeat(64)} `, /expected sha256/],
  [`sha256:${"a".repeat(64)}\n`, /expected sha256/],
  [`sha256::${"a".repeat(64)}`, /expected sha256/],
  [`${"a".repeat(64)}`, /expected sha256/],
];

for (const [text, why] of INVALID) {
  Deno.test(`parseDigest rejects ${JSON.stringify(text.slice(0, 40))}`, () => {
    assert.throws(() => parseDigest(text), (err: unknown) => {
      assert.ok(err instanceof ManifestError, `${err}`);
      assert.ok(err instanceof ToolError);
      assert.match(err.message, why);
      return true;
    });
    assert.equal(isDigest(text), false);
  });
}

Deno.test("parseDigest shortens what it quotes", () => {
  assert.throws(() => parseDigest("x".repeat(100_000)), (err: unknown) => {
    assert.ok(err instanceof ManifestError);
    assert.ok(err.message.length < 300, `message is ${err.message.length} characters`);
    return true;
  });
});

Deno.test("digestOf hashes bytes with the named algorithm", async () => {
  assert.equal(await digestOf(new Uint8Array(0)), EMPTY_SHA256);
  assert.equal(await digestOf(enc.encode("abc")), ABC_SHA256);
  assert.equal(await digestOf(enc.encode("abc"), "sha384"), ABC_SHA384);
  assert.equal(await digestOf(enc.encode("abc"), "sha512"), ABC_SHA512);
  // A view into a larger buffer hashes only its own bytes.
  assert.equal(await digestOf(enc.encode("xabcx").subarray(1, 4)), ABC_SHA256);
});

Deno.test("sha256Stream hashes chunk by chunk and counts bytes", async () => {
  const chunks = [enc.encode("a"), new Uint8Array(0), enc.encode("bc")];
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      for (const ch of chunks) c.enqueue(ch);
      c.close();
    },
  });
  assert.deepStrictEqual(await sha256Stream(stream), { hex: ABC_SHA256.slice(7), size: 3 });
  const big = new Uint8Array(3 * 1024 * 1024).fill(7);
  const { hex, size } = await sha256Stream(new Blob([big]).stream());
  assert.equal(size, big.byteLength);
  assert.equal(`sha256:${hex}`, await digestOf(big));
});

Deno.test("verifyDigest passes on a match for every algorithm", async () => {
  await verifyDigest(enc.encode("abc"), ABC_SHA256, "blob");
  await verifyDigest(enc.encode("abc"), ABC_SHA384, "blob");
  await verifyDigest(enc.encode("abc"), ABC_SHA512, "blob");
});

Deno.test("verifyDigest throws DigestMismatchError naming both digests", async () => {
  const abd = await digestOf(enc.encode("abd"));
  await assert.rejects(
    () => verifyDigest(enc.encode("abd"), ABC_SHA256, "manifest sha256:ba78..."),
    (err: unknown) => {
      assert.ok(err instanceof DigestMismatchError, `${err}`);
      assert.equal(err.exitCode, 1);
      assert.match(
        err.message,
        /^manifest sha256:ba78\.\.\.: content digest sha256:[0-9a-f]{64} does not match expected/,
      );
      assert.ok(err.message.includes(ABC_SHA256));
      assert.ok(err.message.includes(abd));
      assert.ok(err.hint);
      return true;
    },
  );
  await assert.rejects(
    () => verifyDigest(enc.encode("abc"), ABC_SHA512.slice(0, -1) + "0", "x"),
    DigestMismatchError,
  );
});

Deno.test("verifyDigest with an invalid expected digest is a ManifestError, not a mismatch", async () => {
  await assert.rejects(
    () => verifyDigest(enc.encode("abc"), ABC_SHA256.toUpperCase(), "x"),
    (err: unknown) => {
      return err instanceof ManifestError && !(err instanceof DigestMismatchError);
    },
  );
});

Deno.test("verifiedUse gives what was made of the bytes only once their digest matched; the digest's error first", async () => {
  const abc = enc.encode("abc");
  assert.equal(await verifiedUse(abc, ABC_SHA256, "blob", (b) => new TextDecoder().decode(b)), "abc");
  // A mismatch is the error, whether the use succeeded or failed.
  await assert.rejects(verifiedUse(abc, EMPTY_SHA256, "blob", () => "made"), DigestMismatchError);
  await assert.rejects(
    verifiedUse(abc, EMPTY_SHA256, "blob", () => {
      throw new SyntaxError("not JSON");
    }),
    DigestMismatchError,
  );
  // The use's own error when the digest matched.
  await assert.rejects(
    verifiedUse(abc, ABC_SHA256, "blob", () => {
      throw new SyntaxError("not JSON");
    }),
    SyntaxError,
  );
});

Deno.test("verifySize", () => {
  verifySize(enc.encode("abc"), 3, "blob");
  assert.throws(() => verifySize(enc.encode("abc"), 4, "config"), (err: unknown) => {
    assert.ok(err instanceof DigestMismatchError);
    assert.match(err.message, /config: size 3 does not match the descriptor's size 4/);
    return true;
  });
});
