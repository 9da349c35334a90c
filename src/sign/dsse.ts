/**
 * DSSE envelopes (Dead Simple Signing Envelope, secure-systems-lab/dsse, protocol v1): the pre-authentication
 * encoding, signing a payload into an envelope, and verifying one.
 *
 * Signatures are ECDSA P-256 over SHA-256 in ASN.1 DER, base64 in the envelope: what cosign writes for key
 * files and KMS keys, and what `cosign verify-blob-attestation --key` checks. The envelope is the JSON one of
 * the DSSE spec, `keyid` included even when empty, as cosign writes it.
 *
 * Only Web Crypto is used, never `node:crypto`: its Node polyfill costs 15-25 ms of start-up.
 *
 * @module
 */

import { decodeUtf8 } from "../bytes.ts";
import { ConfigError, SigningError, ToolError, VerificationError } from "../errors.ts";
import { Asn1Error, children, ecdsaDerToP1363, Oid, oidText, pemBlocks, readOnly, Tag } from "./asn1.ts";

/** The DSSE payload type of an in-toto Statement. */
export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";

const ECDSA_P256 = { name: "ECDSA", namedCurve: "P-256" } as const;
const ECDSA_SHA256 = { name: "ECDSA", hash: "SHA-256" } as const;

/** Something that signs with an ECDSA P-256 key: a PEM key file, an AWS KMS key. */
export interface Signer {
  /** The DSSE `keyid` hint written next to the signature; "" when there is none (cosign writes ""). */
  readonly keyid: string;
  /** ASN.1 DER ECDSA signature over sha256(data) */
  sign(data: Uint8Array): Promise<Uint8Array>;
  /** SubjectPublicKeyInfo PEM of the verifying key */
  publicKeyPem(): Promise<string>;
}

/**
 * DSSE v1 pre-authentication encoding: `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths in ASCII
 * decimal of byte counts (the type's UTF-8 bytes). This, not the payload, is what gets signed, so a signature
 * also covers the payload type.
 *
 * @example
 * ```ts
 * new TextDecoder().decode(pae("http://example.com/HelloWorld", new TextEncoder().encode("hello world")));
 * // "DSSEv1 29 http://example.com/HelloWorld 11 hello world"
 * ```
 */
export function pae(payloadType: string, payload: Uint8Array): Uint8Array {
  const enc = new TextEncoder();
  const type = enc.encode(payloadType);
  const head = enc.encode(`DSSEv1 ${type.length} `);
  const mid = enc.encode(` ${payload.length} `);
  const out = new Uint8Array(head.length + type.length + mid.length + payload.length);
  out.set(head, 0);
  out.set(type, head.length);
  out.set(mid, head.length + type.length);
  out.set(payload, head.length + type.length + mid.length);
  return out;
}

/**
 * Sign `payload` into a DSSE JSON envelope with one signature: `payload` and `sig` in standard base64,
 * 2-space indent, trailing newline. The signature is checked against the signer's own public key before the
 * envelope is returned, so a signer that answers with the wrong key or a broken signature fails here instead
 * of producing an envelope no verifier accepts.
 *
 * @example
 * ```ts
 * const signer = await pemSigner(await Deno.readTextFile("cosign.pem"), "cosign.pem");
 * const envelope = await signEnvelope(statementBytes, IN_TOTO_PAYLOAD_TYPE, signer);
 * await Deno.writeFile("statement.dsse.json", envelope);
 * ```
 */
export async function signEnvelope(
  payload: Uint8Array,
  payloadType: string,
  signer: Signer,
): Promise<Uint8Array> {
  const message = pae(payloadType, payload);
  const sig = await signer.sign(message);
  let p1363: Uint8Array;
  try {
    p1363 = ecdsaDerToP1363(sig);
  } catch (err) {
    if (!(err instanceof Asn1Error)) throw err;
    throw new SigningError(`the signer returned a signature that is not an ECDSA P-256 DER signature`);
  }
  const key = await importVerifyingKey(await signer.publicKeyPem(), "the signer's public key");
  if (!(await crypto.subtle.verify(ECDSA_SHA256, key, buf(p1363), buf(message)))) {
    throw new SigningError("the signature the signer returned does not verify with its own public key");
  }
  const envelope = {
    payloadType,
    payload: payload.toBase64(),
    signatures: [{ keyid: signer.keyid, sig: sig.toBase64() }],
  };
  return new TextEncoder().encode(`${JSON.stringify(envelope, null, 2)}\n`);
}

/**
 * Verify a DSSE JSON envelope with an ECDSA P-256 public key (SubjectPublicKeyInfo PEM): the envelope is
 * accepted when at least one of its signatures is a valid DER ECDSA SHA-256 signature of the PAE by that key.
 * Base64 in either alphabet is accepted, as the spec requires of verifiers. The payload type is returned, not
 * judged: the caller decides which types it accepts.
 *
 * Throws {@link VerificationError} when the envelope is malformed or no signature verifies, and
 * {@link ConfigError} when the public key is not a P-256 key in PEM.
 *
 * @example
 * ```ts
 * const pub = await Deno.readTextFile("cosign.pub");
 * const { payloadType, payload } = await verifyEnvelope(envelopeBytes, pub);
 * if (payloadType !== IN_TOTO_PAYLOAD_TYPE) throw new Error("not an in-toto statement");
 * ```
 */
export async function verifyEnvelope(
  envelope: Uint8Array,
  publicKeyPem: string,
): Promise<{ payloadType: string; payload: Uint8Array }> {
  const key = await importVerifyingKey(publicKeyPem, "the public key");
  let doc: unknown;
  try {
    doc = JSON.parse(decodeUtf8(envelope));
  } catch {
    throw new VerificationError("the DSSE envelope is not UTF-8 JSON");
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new VerificationError("the DSSE envelope is not a JSON object");
  }
  const { payloadType, payload, signatures } = doc as Record<string, unknown>;
  if (typeof payloadType !== "string") {
    throw new VerificationError("the DSSE envelope has no payloadType string");
  }
  if (typeof payload !== "string") throw new VerificationError("the DSSE envelope has no payload string");
  if (!Array.isArray(signatures) || signatures.length === 0) {
    throw new VerificationError("the DSSE envelope has no signatures");
  }
  const body = decodeBase64(payload, "payload");
  const message = pae(payloadType, body);
  for (const [i, entry] of signatures.entries()) {
    const sig = (entry as { sig?: unknown } | null)?.sig;
    if (typeof sig !== "string") throw new VerificationError(`DSSE signature ${i + 1} has no sig string`);
    let p1363: Uint8Array;
    try {
      p1363 = ecdsaDerToP1363(decodeBase64(sig, `signature ${i + 1}`));
    } catch (err) {
      // A signature of another algorithm or encoding is one that does not verify with this key; try the next.
      if (err instanceof Asn1Error) continue;
      throw err;
    }
    if (await crypto.subtle.verify(ECDSA_SHA256, key, buf(p1363), buf(message))) {
      return { payloadType, payload: body };
    }
  }
  throw new VerificationError(
    signatures.length === 1
      ? "the DSSE signature does not verify with the public key"
      : `none of the ${signatures.length} DSSE signatures verifies with the public key`,
  );
}

/** Standard or URL-safe base64 (DSSE verifiers must accept both), padding optional. */
function decodeBase64(text: string, what: string): Uint8Array {
  try {
    return Uint8Array.fromBase64(text, { alphabet: /[-_]/.test(text) ? "base64url" : "base64" });
  } catch {
    throw new VerificationError(`the DSSE envelope's ${what} is not base64`);
  }
}

/**
 * Import a SubjectPublicKeyInfo PEM as a P-256 verifying key, with a message that names the key's actual
 * algorithm or curve when it is not P-256 (Web Crypto's own error would say only "invalid key data").
 */
export async function importVerifyingKey(pemText: string, what: string): Promise<CryptoKey> {
  let der: Uint8Array | undefined;
  try {
    der = pemBlocks(pemText).find((b) => b.label === "PUBLIC KEY")?.der;
  } catch (err) {
    if (!(err instanceof Asn1Error)) throw err;
    throw new ConfigError(`${what} is not valid PEM: ${err.message}`);
  }
  if (!der) throw new ConfigError(`${what} has no "BEGIN PUBLIC KEY" PEM block`);
  let curve: string;
  try {
    curve = spkiAlgorithm(der);
  } catch (err) {
    if (!(err instanceof Asn1Error)) throw err;
    throw new ConfigError(`${what} is not a SubjectPublicKeyInfo: ${err.message}`);
  }
  if (curve !== "P-256") throw new ConfigError(`${what} is ${curve}; only ECDSA P-256 keys are supported`);
  try {
    return await crypto.subtle.importKey("spki", buf(der), ECDSA_P256, false, ["verify"]);
  } catch (err) {
    if (err instanceof ToolError) throw err;
    throw new ConfigError(`${what} is not a valid P-256 public key`);
  }
}

/** "P-256" for an EC P-256 SubjectPublicKeyInfo, else a short name of what it is. */
function spkiAlgorithm(der: Uint8Array): string {
  const [alg] = children(readOnly(der, Tag.SEQUENCE, "SubjectPublicKeyInfo"));
  if (alg?.tag !== Tag.SEQUENCE) throw new Asn1Error("no AlgorithmIdentifier");
  const [oid, params] = children(alg.content);
  if (oid?.tag !== Tag.OID) throw new Asn1Error("no algorithm OBJECT IDENTIFIER");
  return keyAlgorithmName(
    oidText(oid.content),
    params?.tag === Tag.OID ? oidText(params.content) : undefined,
  );
}

/**
 * A readable name for a key algorithm OID and, for EC keys, its curve OID: "P-256" for the one supported,
 * "an ECDSA P-384 key", "an RSA key" and so on for the rest.
 */
export function keyAlgorithmName(algorithm: string, curve?: string): string {
  if (algorithm === Oid.EC_PUBLIC_KEY) {
    switch (curve) {
      case Oid.P256:
        return "P-256";
      case Oid.P384:
        return "an ECDSA P-384 key";
      case Oid.P521:
        return "an ECDSA P-521 key";
      case Oid.SECP256K1:
        return "an ECDSA secp256k1 key";
      case undefined:
        return "an EC key with explicit curve parameters";
      default:
        return `an EC key on curve ${curve}`;
    }
  }
  const names: Record<string, string> = {
    [Oid.RSA]: "an RSA key",
    [Oid.RSA_PSS]: "an RSA-PSS key",
    [Oid.DSA]: "a DSA key",
    [Oid.ED25519]: "an Ed25519 key",
    [Oid.ED448]: "an Ed448 key",
    [Oid.X25519]: "an X25519 key",
    [Oid.X448]: "an X448 key",
  };
  return names[algorithm] ?? `a key of algorithm ${algorithm}`;
}

/** Web Crypto's parameter type wants an ArrayBuffer-backed view. */
export function buf(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes as Uint8Array<ArrayBuffer>;
}
