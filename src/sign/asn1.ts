/**
 * The little DER and PEM the signing layer needs, and nothing more: reading and writing tag-length-value
 * items, object identifiers, ECDSA signatures in both encodings (ASN.1 DER, which DSSE envelopes, cosign,
 * OpenSSL and AWS KMS use, and IEEE P1363 `r || s`, which Web Crypto uses), and PEM blocks.
 *
 * A parser of its own rather than an npm ASN.1 package: the structures are three small fixed ones (PKCS#8,
 * SEC1, ECDSA-Sig-Value), and a strict reader of them is shorter than any package's adapter code.
 *
 * Failures throw {@link Asn1Error}, which names the structural problem only; callers turn it into a
 * `ToolError` that says which input was wrong. Messages never contain the bytes themselves, which may be key
 * material.
 *
 * @module
 */

/** Malformed DER or PEM. Internal: callers wrap it into a ToolError naming the input. */
export class Asn1Error extends Error {
  override name = "Asn1Error";
}

/** DER tags used here (universal class, and the two context-specific tags of SEC1). */
export const Tag = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  SEQUENCE: 0x30,
  CONTEXT_0: 0xa0,
  CONTEXT_1: 0xa1,
} as const;

/** Object identifiers the key parsers recognise, by dotted name. */
export const Oid = {
  EC_PUBLIC_KEY: "1.2.840.10045.2.1",
  P256: "1.2.840.10045.3.1.7",
  P384: "1.3.132.0.34",
  P521: "1.3.132.0.35",
  SECP256K1: "1.3.132.0.10",
  RSA: "1.2.840.113549.1.1.1",
  RSA_PSS: "1.2.840.113549.1.1.10",
  DSA: "1.2.840.10040.4.1",
  ED25519: "1.3.101.112",
  ED448: "1.3.101.113",
  X25519: "1.3.101.110",
  X448: "1.3.101.111",
} as const;

/** One DER item: its tag, its content, and where the next item starts. */
export interface Tlv {
  tag: number;
  content: Uint8Array;
  /** Offset just past this item in the buffer it was read from. */
  next: number;
}

/**
 * Read one DER item at `offset`. Strict DER: low tag numbers only, definite lengths in minimal form, content
 * within the buffer.
 *
 * @example
 * ```ts
 * readTlv(new Uint8Array([0x02, 0x01, 0x05]), 0); // { tag: 2, content: [5], next: 3 }
 * ```
 */
export function readTlv(bytes: Uint8Array, offset: number): Tlv {
  if (offset + 2 > bytes.length) throw new Asn1Error("truncated DER item");
  const tag = bytes[offset];
  // High tag numbers (low five bits all set) never occur in the structures read here.
  if ((tag & 0x1f) === 0x1f) throw new Asn1Error("unsupported DER tag");
  let length = bytes[offset + 1];
  let pos = offset + 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    // 0x80 is BER's indefinite length; more than 4 length bytes is no key or signature.
    if (n === 0 || n > 4) throw new Asn1Error("invalid DER length");
    if (pos + n > bytes.length) throw new Asn1Error("truncated DER length");
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + bytes[pos + i];
    // DER: the long form only when the short one cannot hold the length, with no leading zero byte.
    if (length < 0x80 || bytes[pos] === 0) throw new Asn1Error("non-minimal DER length");
    pos += n;
  }
  if (pos + length > bytes.length) throw new Asn1Error("DER item runs past its container");
  return { tag, content: bytes.subarray(pos, pos + length), next: pos + length };
}

/** Read `bytes` as exactly one DER item of tag `tag`, with nothing after it. */
export function readOnly(bytes: Uint8Array, tag: number, what: string): Uint8Array {
  const item = readTlv(bytes, 0);
  if (item.tag !== tag) throw new Asn1Error(`${what}: unexpected DER tag 0x${item.tag.toString(16)}`);
  if (item.next !== bytes.length) throw new Asn1Error(`${what}: trailing bytes after the DER item`);
  return item.content;
}

/** The items inside a constructed item's content, in order. */
export function children(content: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  for (let pos = 0; pos < content.length;) {
    const item = readTlv(content, pos);
    out.push(item);
    pos = item.next;
  }
  return out;
}

/**
 * Encode one DER item.
 *
 * @example
 * ```ts
 * derItem(Tag.SEQUENCE, derItem(Tag.NULL)); // 30 02 05 00
 * ```
 */
export function derItem(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const length = parts.reduce((n, p) => n + p.length, 0);
  const header: number[] = [tag];
  if (length < 0x80) {
    header.push(length);
  } else {
    const bytes: number[] = [];
    for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
    header.push(0x80 | bytes.length, ...bytes);
  }
  return concat(Uint8Array.from(header), ...parts);
}

/** Bytes one after the other. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/** The dotted form of an OBJECT IDENTIFIER's content (`1.2.840.10045.2.1`). */
export function oidText(content: Uint8Array): string {
  if (content.length === 0) throw new Asn1Error("empty OBJECT IDENTIFIER");
  const arcs: number[] = [];
  let value = 0;
  for (let i = 0; i < content.length; i++) {
    // A leading 0x80 would be a non-minimal arc; arcs above 2^53 do not occur in the OIDs compared here.
    if (value === 0 && content[i] === 0x80) throw new Asn1Error("non-minimal OBJECT IDENTIFIER arc");
    value = value * 128 + (content[i] & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER) throw new Asn1Error("OBJECT IDENTIFIER arc too large");
    if ((content[i] & 0x80) === 0) {
      arcs.push(value);
      value = 0;
    } else if (i === content.length - 1) {
      throw new Asn1Error("truncated OBJECT IDENTIFIER");
    }
  }
  const first = arcs[0] < 80 ? Math.floor(arcs[0] / 40) : 2;
  return [first, arcs[0] - first * 40, ...arcs.slice(1)].join(".");
}

/** The DER encoding of an OBJECT IDENTIFIER given in dotted form. */
export function oidDer(dotted: string): Uint8Array {
  const arcs = dotted.split(".").map(Number);
  const values = [arcs[0] * 40 + arcs[1], ...arcs.slice(2)];
  const bytes: number[] = [];
  for (const v of values) {
    const group: number[] = [v & 0x7f];
    for (let n = Math.floor(v / 128); n > 0; n = Math.floor(n / 128)) group.unshift(0x80 | (n & 0x7f));
    bytes.push(...group);
  }
  return derItem(Tag.OID, Uint8Array.from(bytes));
}

/**
 * A non-negative big-endian integer as a DER INTEGER: leading zero bytes dropped (minimal encoding), one 0x00
 * put back when the high bit is set (else it would read as negative).
 */
export function derUnsignedInteger(magnitude: Uint8Array): Uint8Array {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  const body = trimmed.length > 0 && trimmed[0] & 0x80 ? concat(new Uint8Array([0]), trimmed) : trimmed;
  return derItem(Tag.INTEGER, body.length === 0 ? new Uint8Array([0]) : body);
}

/**
 * An ECDSA signature from IEEE P1363 (`r || s`, each `size` bytes: what Web Crypto returns) to ASN.1 DER
 * (`SEQUENCE { INTEGER r, INTEGER s }`: what DSSE envelopes carry for cosign).
 *
 * @example
 * ```ts
 * const der = ecdsaP1363ToDer(new Uint8Array(await crypto.subtle.sign(alg, key, data)));
 * ```
 */
export function ecdsaP1363ToDer(sig: Uint8Array, size = 32): Uint8Array {
  if (sig.length !== 2 * size) throw new Asn1Error(`ECDSA signature is ${sig.length} bytes, not ${2 * size}`);
  return derItem(
    Tag.SEQUENCE,
    derUnsignedInteger(sig.subarray(0, size)),
    derUnsignedInteger(sig.subarray(size)),
  );
}

/**
 * An ECDSA signature from ASN.1 DER to IEEE P1363 (`r || s`, each left-padded to `size` bytes), for Web
 * Crypto's verify. Strict: one SEQUENCE of exactly two positive, minimally encoded INTEGERs no longer than
 * `size` bytes, and nothing after it, so that one signature has one encoding only.
 */
export function ecdsaDerToP1363(der: Uint8Array, size = 32): Uint8Array {
  const items = children(readOnly(der, Tag.SEQUENCE, "ECDSA signature"));
  if (items.length !== 2 || items.some((i) => i.tag !== Tag.INTEGER)) {
    throw new Asn1Error("ECDSA signature is not a SEQUENCE of two INTEGERs");
  }
  const out = new Uint8Array(2 * size);
  items.forEach((item, n) => {
    const c = item.content;
    if (c.length === 0) throw new Asn1Error("empty INTEGER in the ECDSA signature");
    if (c[0] & 0x80) throw new Asn1Error("negative INTEGER in the ECDSA signature");
    if (c.length > 1 && c[0] === 0 && (c[1] & 0x80) === 0) {
      throw new Asn1Error("non-minimal INTEGER in the ECDSA signature");
    }
    const magnitude = c[0] === 0 && c.length > 1 ? c.subarray(1) : c;
    if (magnitude.length > size) {
      throw new Asn1Error("INTEGER too large for the curve in the ECDSA signature");
    }
    out.set(magnitude, (n + 1) * size - magnitude.length);
  });
  return out;
}

/** One PEM block: its label (`PRIVATE KEY`), its RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`), its DER. */
export interface PemBlock {
  label: string;
  headers: string[];
  der: Uint8Array;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;

/**
 * Every PEM block in `text`, in order. Text between blocks (comments, as `openssl` prints) is ignored; a
 * block whose END label differs from its BEGIN label, or whose body is not base64, throws.
 *
 * @example
 * ```ts
 * pemBlocks(await Deno.readTextFile("key.pem")).map((b) => b.label); // ["EC PARAMETERS", "EC PRIVATE KEY"]
 * ```
 */
export function pemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(PEM_BLOCK)) {
    const [, label, body, endLabel] = m;
    if (label !== endLabel) throw new Asn1Error(`PEM block BEGIN ${label} ends with END ${endLabel}`);
    const lines = body.split(/\r?\n/);
    const headers: string[] = [];
    // RFC 1421 headers ("Name: value") come first and end at a blank line.
    if (lines.length > 0 && /^[A-Za-z-]+:/.test(lines[0])) {
      while (lines.length > 0 && lines[0].trim() !== "") headers.push(lines.shift()!.trim());
    }
    const b64 = lines.join("").replace(/\s+/g, "");
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw new Asn1Error(`PEM block ${label} is not base64`);
    let der: Uint8Array;
    try {
      der = Uint8Array.fromBase64(b64);
    } catch {
      throw new Asn1Error(`PEM block ${label} is not base64`);
    }
    out.push({ label, headers, der });
  }
  return out;
}

/**
 * A PEM block for `der`: base64 in 64-character lines, as OpenSSL and Go's `encoding/pem` write it.
 *
 * @example
 * ```ts
 * pemEncode("PUBLIC KEY", spki); // "-----BEGIN PUBLIC KEY-----\nMFkw...\n-----END PUBLIC KEY-----\n"
 * ```
 */
export function pemEncode(label: string, der: Uint8Array): string {
  const b64 = der.toBase64();
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}
