/**
 * Digests: parsing, sha256 over bytes and streams, verification.
 *
 * Bytes in memory are hashed with Web Crypto, which is built into the runtime: `node:crypto` costs 15-25 ms of
 * start-up before the first request (its Node polyfill graph is compiled on first import), so it is loaded
 * only for streams, which Web Crypto cannot hash incrementally.
 *
 * @module
 */

import { DigestMismatchError, ManifestError } from "./errors.ts";

const DIGEST = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;
const HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

/** A parsed digest. */
export interface ParsedDigest {
  algorithm: "sha256" | "sha384" | "sha512";
  hex: string;
}

/**
 * Parse and validate `algorithm:hex`. Only sha256/sha384/sha512 are accepted (the registered algorithms of the
 * OCI image spec); the hex must be lower-case and of the right length.
 *
 * @example
 * ```ts
 * parseDigest("sha256:" + "a".repeat(64)).algorithm; // "sha256"
 * ```
 */
export function parseDigest(text: string): ParsedDigest {
  const m = DIGEST.exec(text);
  const algorithm = m?.[1];
  const hex = m?.[2] ?? "";
  if (!m || !algorithm || !Object.hasOwn(HEX_LENGTH, algorithm)) {
    throw new ManifestError(`invalid digest "${text.slice(0, 100)}": expected sha256:<64 hex digits>`);
  }
  if (hex.length !== HEX_LENGTH[algorithm] || !/^[0-9a-f]+$/.test(hex)) {
    throw new ManifestError(
      `invalid digest "${text.slice(0, 100)}": ${algorithm} needs ${
        HEX_LENGTH[algorithm]
      } lower-case hex digits`,
    );
  }
  return { algorithm: algorithm as ParsedDigest["algorithm"], hex };
}

/** Whether `text` is a valid digest. */
export function isDigest(text: string): boolean {
  try {
    parseDigest(text);
    return true;
  } catch {
    return false;
  }
}

const WEB_CRYPTO_NAME = { sha256: "SHA-256", sha384: "SHA-384", sha512: "SHA-512" } as const;

/**
 * `algorithm:hex` of `bytes` (sha256 unless another algorithm is named).
 *
 * @example
 * ```ts
 * await digestOf(new TextEncoder().encode("")); // "sha256:e3b0c442..."
 * ```
 */
export async function digestOf(
  bytes: Uint8Array,
  algorithm: ParsedDigest["algorithm"] = "sha256",
): Promise<string> {
  const hash = await crypto.subtle.digest(WEB_CRYPTO_NAME[algorithm], bytes as Uint8Array<ArrayBuffer>);
  return `${algorithm}:${new Uint8Array(hash).toHex()}`;
}

/**
 * Hash a stream chunk by chunk with constant memory; returns hex sha256 and the byte count.
 *
 * @example
 * ```ts
 * const file = await Deno.open("os.img");
 * const { hex, size } = await sha256Stream(file.readable);
 * ```
 */
export async function sha256Stream(
  stream: ReadableStream<Uint8Array>,
): Promise<{ hex: string; size: number }> {
  const { createHash } = await import("node:crypto");
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    size += chunk.byteLength;
  }
  return { hex: hash.digest("hex"), size };
}

/**
 * Throw {@link DigestMismatchError} unless `bytes` hash to `expected`. `what` names the object in the message,
 * `source` where the expected digest came from.
 */
export async function verifyDigest(
  bytes: Uint8Array,
  expected: string,
  what: string,
  source = "expected",
): Promise<void> {
  const { algorithm } = parseDigest(expected);
  const actual = await digestOf(bytes, algorithm);
  if (actual !== expected) {
    throw new DigestMismatchError(`${what}: content digest ${actual} does not match ${source} ${expected}`, {
      hint: "the registry or a proxy served different bytes; nothing was written",
    });
  }
}

/**
 * {@link verifyDigest}, with `use(bytes)` run while the digest is computed (the runtime hashes on another
 * thread): `use`'s result is given only once the digest matched, so nothing made of unverified bytes escapes,
 * and when both fail the digest's error is the one thrown.
 *
 * @example
 * ```ts
 * const doc = await verifiedUse(bytes, "sha256:...", "attached document", (b) => JSON.parse(decodeUtf8(b)));
 * ```
 */
export async function verifiedUse<T>(
  bytes: Uint8Array,
  expected: string,
  what: string,
  use: (bytes: Uint8Array) => T,
): Promise<T> {
  const verifying = verifyDigest(bytes, expected, what);
  let result: T;
  try {
    result = use(bytes);
  } catch (err) {
    await verifying;
    throw err;
  }
  await verifying;
  return result;
}

/** Throw {@link DigestMismatchError} unless `bytes` has `expected` length. */
export function verifySize(bytes: Uint8Array, expected: number, what: string): void {
  if (bytes.byteLength !== expected) {
    throw new DigestMismatchError(
      `${what}: size ${bytes.byteLength} does not match the descriptor's size ${expected}`,
      { hint: "the registry served different bytes; nothing was written" },
    );
  }
}
