/**
 * Signing: DSSE pre-authentication encoding, envelopes signed with PEM keys made by the real `openssl` and
 * with AWS KMS keys through the real AWS SDK (against the SigV4-checking stand-in of `support/kms_api.ts`),
 * verified independently of the signing code with `node:crypto` and `openssl dgst -verify`; key refusals; key
 * references.
 */

import assert from "node:assert/strict";
import { createHash, createPublicKey, verify as nodeVerify } from "node:crypto";
import {
  AuthError,
  ConfigError,
  NetworkError,
  NotFoundError,
  SigningError,
  TimeoutError,
  type ToolError,
  UsageError,
  VerificationError,
} from "../src/errors.ts";
import { Asn1Error, ecdsaDerToP1363, ecdsaP1363ToDer } from "../src/sign/asn1.ts";
import { IN_TOTO_PAYLOAD_TYPE, pae, signEnvelope, type Signer, verifyEnvelope } from "../src/sign/dsse.ts";
import { type KeyRef, parseKeyRef } from "../src/sign/keyref.ts";
import { kmsSigner } from "../src/sign/kms.ts";
import { pemSigner } from "../src/sign/pem.ts";
import { startKmsApi } from "./support/kms_api.ts";
import { run } from "./support/tools.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** An in-toto Statement as the tool writes it; its base64 has '+' and '/' (the "\u00fb\u00ff" bytes) too. */
const STATEMENT = enc.encode(
  `${
    JSON.stringify({
      _type: "https://in-toto.io/Statement/v1",
      subject: [{ name: "os.img", digest: { sha256: "ab".repeat(32) } }],
      predicateType: "https://slsa.dev/provenance/v1",
      predicate: { note: "\u00fb\u00ff>?" },
    })
  }\n`,
);

// -----------------------------------------------------------------------------------------------------------
// Keys made by the real openssl, once per run.

async function openssl(args: string[], cwd: string): Promise<Uint8Array> {
  return (await run("openssl", args, { cwd, check: true, env: { OPENSSL_CONF: "/dev/null" } })).stdout;
}

interface Keys {
  dir: string;
  /** PEM text by name. */
  pem: Record<string, string>;
}

let keysPromise: Promise<Keys> | undefined;

function keys(): Promise<Keys> {
  keysPromise ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "sign-test-" });
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    const o = (args: string[]) => openssl(args, dir);
    await o(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "pkcs8.pem"]);
    await o(["ecparam", "-genkey", "-name", "prime256v1", "-out", "sec1.pem"]);
    await o(["ec", "-in", "sec1.pem", "-no_public", "-out", "sec1-nopub.pem"]);
    await o(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "kms.pem"]);
    await o([
      "pkcs8",
      "-topk8",
      "-v2",
      "aes-256-cbc",
      "-in",
      "pkcs8.pem",
      "-passout",
      "pass:x",
      "-out",
      "enc.pem",
    ]);
    await o(["ec", "-in", "sec1.pem", "-aes256", "-passout", "pass:x", "-out", "sec1-enc.pem"]);
    await o(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "rsa.pem"]);
    await o(["rsa", "-in", "rsa.pem", "-traditional", "-out", "rsa-trad.pem"]);
    await o(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", "p384.pem"]);
    await o(["ecparam", "-genkey", "-name", "secp384r1", "-noout", "-out", "p384-sec1.pem"]);
    await o(["ecparam", "-genkey", "-name", "secp256k1", "-noout", "-out", "k1-sec1.pem"]);
    await o(["genpkey", "-algorithm", "ED25519", "-out", "ed25519.pem"]);
    for (const name of ["pkcs8", "sec1", "sec1-nopub", "kms", "p384"]) {
      await o(["pkey", "-in", `${name}.pem`, "-pubout", "-out", `${name}.pub.pem`]);
    }
    const pem: Record<string, string> = {};
    for (const e of Deno.readDirSync(dir)) {
      pem[e.name.replace(/\.pem$/, "")] = Deno.readTextFileSync(`${dir}/${e.name}`);
    }
    return { dir, pem };
  })();
  return keysPromise;
}

/** The envelope's JSON, parsed. */
function parse(
  envelope: Uint8Array,
): { payloadType: string; payload: string; signatures: { keyid: string; sig: string }[] } {
  return JSON.parse(dec.decode(envelope));
}

/**
 * Verify an envelope without the signing code: node:crypto's ECDSA (OpenSSL underneath) over a PAE built here
 * from the spec's definition, with the envelope's DER signature as it is.
 */
function nodeVerifies(envelope: Uint8Array, publicKeyPem: string): boolean {
  const e = parse(envelope);
  const body = Uint8Array.from(atob(e.payload), (c) => c.charCodeAt(0));
  const type = enc.encode(e.payloadType);
  const message = new Uint8Array([
    ...enc.encode(`DSSEv1 ${type.length} `),
    ...type,
    ...enc.encode(` ${body.length} `),
    ...body,
  ]);
  const sig = Uint8Array.from(atob(e.signatures[0].sig), (c) => c.charCodeAt(0));
  return nodeVerify("sha256", message, publicKeyPem, sig);
}

/** `openssl dgst -sha256 -verify` of the envelope's signature over `pae(...)`: true when openssl says OK. */
async function opensslVerifies(envelope: Uint8Array, publicKeyPem: string): Promise<boolean> {
  const e = parse(envelope);
  const dir = await Deno.makeTempDir({ prefix: "sign-verify-" });
  try {
    await Deno.writeTextFile(`${dir}/pub.pem`, publicKeyPem);
    await Deno.writeFile(`${dir}/sig.der`, Uint8Array.fromBase64(e.signatures[0].sig));
    await Deno.writeFile(`${dir}/pae.bin`, pae(e.payloadType, Uint8Array.fromBase64(e.payload)));
    const r = await run("openssl", [
      "dgst",
      "-sha256",
      "-verify",
      "pub.pem",
      "-signature",
      "sig.der",
      "pae.bin",
    ], {
      cwd: dir,
      env: { OPENSSL_CONF: "/dev/null" },
    });
    if (r.code === 0) {
      assert.match(dec.decode(r.stdout), /Verified OK/);
      return true;
    }
    assert.match(dec.decode(r.stdout), /Verification failure/, r.stderr);
    return false;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Assert `fn` rejects with a `type` error whose one-line message matches `pattern`; returns the error. */
async function rejectsWith<T extends ToolError>(
  fn: () => Promise<unknown>,
  type: abstract new (...a: never[]) => T,
  pattern: RegExp,
): Promise<T> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof type, `expected ${type.name}, got ${caught}`);
  const line = caught.oneLine();
  assert.match(line, pattern);
  assert.ok(!line.includes("\n"), "one line");
  assert.ok(!/(^|\s)--[a-z]/.test(line), `no command-line flag names in: ${line}`);
  assert.ok(!/\bat .*\.ts:\d+/.test(line), "no stack");
  return caught;
}

// -----------------------------------------------------------------------------------------------------------
// PAE

/** The P-256 public key of the DSSE protocol's test vector (secure-systems-lab/dsse protocol.md). */
function dsseSpecKey() {
  const coordinate = (n: bigint) =>
    Uint8Array.fromHex(n.toString(16).padStart(64, "0")).toBase64({
      alphabet: "base64url",
      omitPadding: true,
    });
  return createPublicKey({
    key: {
      kty: "EC",
      crv: "P-256",
      x: coordinate(46950820868899156662930047687818585632848591499744589407958293238635476079160n),
      y: coordinate(5640078356564379163099075877009565129882514886557779369047442380624545832820n),
    },
    format: "jwk",
  });
}

/** The test vector's signature (r||s) over PAE("http://example.com/HelloWorld", "hello world"). */
const DSSE_SPEC_SIGNATURE = Uint8Array.fromBase64(
  "A3JqsQGtVsJ2O2xqrI5IcnXip5GToJ3F+FnZ+O88SjtR6rDAajabZKciJTfUiHqJPcIAriEGAHTVeCUjW2JIZA==",
);

Deno.test("pae: the DSSE protocol's test vector, byte for byte; the spec's P-256 signature verifies over it", () => {
  // From secure-systems-lab/dsse protocol.md, "Test Vectors".
  const out = pae("http://example.com/HelloWorld", enc.encode("hello world"));
  assert.equal(dec.decode(out), "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
  const key = dsseSpecKey();
  const sig = DSSE_SPEC_SIGNATURE;
  assert.equal(nodeVerify("sha256", out, { key, dsaEncoding: "ieee-p1363" }, sig), true);
  assert.equal(
    nodeVerify("sha256", pae("http://example.com/HelloWorld", enc.encode("hello worlD")), {
      key,
      dsaEncoding: "ieee-p1363",
    }, sig),
    false,
  );
});

Deno.test("verifyEnvelope accepts the DSSE spec's example (its r||s signature re-encoded as DER)", async () => {
  const pub = dsseSpecKey().export({ type: "spki", format: "pem" }) as string;
  const raw = DSSE_SPEC_SIGNATURE;
  const envelope = (payload: string) =>
    enc.encode(JSON.stringify({
      payload,
      payloadType: "http://example.com/HelloWorld",
      signatures: [{ sig: ecdsaP1363ToDer(raw).toBase64() }],
    }));
  const out = await verifyEnvelope(envelope(btoa("hello world")), pub);
  assert.equal(out.payloadType, "http://example.com/HelloWorld");
  assert.equal(dec.decode(out.payload), "hello world");
  await rejectsWith(
    () => verifyEnvelope(envelope(btoa("hello worle")), pub),
    VerificationError,
    /does not verify/,
  );
});

Deno.test("pae: lengths are UTF-8 byte counts; an empty body ends in a space", () => {
  const type = "application/vnd.ex\u00e4mple+json"; // 28 characters, 29 bytes
  assert.deepEqual(
    pae(type, enc.encode("{}")),
    new Uint8Array([
      ...enc.encode("DSSEv1 29 application/vnd.ex"),
      0xc3,
      0xa4,
      ...enc.encode("mple+json 2 {}"),
    ]),
  );
  assert.equal(
    dec.decode(pae(IN_TOTO_PAYLOAD_TYPE, new Uint8Array())),
    "DSSEv1 28 application/vnd.in-toto+json 0 ",
  );
  const body = new Uint8Array([0, 0xff, 0x20, 0x0a]);
  assert.deepEqual(pae("t", body), new Uint8Array([...enc.encode("DSSEv1 1 t 4 "), 0, 0xff, 0x20, 0x0a]));
});

// -----------------------------------------------------------------------------------------------------------
// DER <-> P1363

Deno.test("ecdsaP1363ToDer: minimal INTEGERs, 0x00 before a set high bit; ecdsaDerToP1363 inverts it", () => {
  // r = 1 (31 leading zero bytes dropped), s = 0x80 00.. (high bit set: a 0x00 goes first).
  const r = new Uint8Array(32);
  r[31] = 1;
  const s = new Uint8Array(32);
  s[0] = 0x80;
  const der = ecdsaP1363ToDer(new Uint8Array([...r, ...s]));
  assert.equal(der.toHex(), `3026020101022100${"80" + "00".repeat(31)}`);
  assert.deepEqual(ecdsaDerToP1363(der), new Uint8Array([...r, ...s]));
  // 0x7f.. needs no padding byte.
  const full = new Uint8Array(64).fill(0x7f);
  assert.equal(ecdsaP1363ToDer(full).toHex(), `3044${("0220" + "7f".repeat(32)).repeat(2)}`);
});

Deno.test("ecdsaDerToP1363 refuses non-DER: padding, negative, trailing bytes, long INTEGERs, 3 items", () => {
  const bad = [
    "30060202000102020001", // non-minimal INTEGERs
    "3006020181020101", // negative r
    "300602010102010100", // trailing byte inside the SEQUENCE
    "3006020101020101" + "00", // trailing byte after it
    `3027022101${"00".repeat(32)}020101`, // r of 33 bytes
    "3009020101020101020101", // three INTEGERs
    "3080020101020101", // indefinite length
    "", // empty
  ];
  for (const hex of bad) assert.throws(() => ecdsaDerToP1363(Uint8Array.fromHex(hex)), Asn1Error, hex);
  assert.throws(() => ecdsaP1363ToDer(new Uint8Array(63)), Asn1Error);
});

// -----------------------------------------------------------------------------------------------------------
// PEM keys made by openssl

for (const name of ["pkcs8", "sec1", "sec1-nopub"]) {
  Deno.test(`pem ${name}: envelope verifies with node:crypto, openssl dgst and verifyEnvelope`, async () => {
    const k = await keys();
    const pub = k.pem[`${name}.pub`];
    const signer = await pemSigner(k.pem[name], `${name}.pem`);
    assert.equal(signer.keyid, "");
    // The signer derives the same SPKI, to the byte, as `openssl pkey -pubout`.
    assert.equal(await signer.publicKeyPem(), pub);
    const envelope = await signEnvelope(STATEMENT, IN_TOTO_PAYLOAD_TYPE, signer);
    assert.equal(nodeVerifies(envelope, pub), true);
    assert.equal(await opensslVerifies(envelope, pub), true);
    const out = await verifyEnvelope(envelope, pub);
    assert.equal(out.payloadType, IN_TOTO_PAYLOAD_TYPE);
    assert.deepEqual(out.payload, STATEMENT);
    // Another key's public half does not verify it.
    const other = k.pem[name === "pkcs8" ? "sec1.pub" : "pkcs8.pub"];
    assert.equal(nodeVerifies(envelope, other), false);
    await rejectsWith(() => verifyEnvelope(envelope, other), VerificationError, /does not verify/);
  });
}

Deno.test("signEnvelope: cosign's JSON layout, standard base64, 2-space indent, final newline", async () => {
  const k = await keys();
  const envelope = await signEnvelope(STATEMENT, IN_TOTO_PAYLOAD_TYPE, await pemSigner(k.pem.pkcs8, "k"));
  const text = dec.decode(envelope);
  const e = parse(envelope);
  assert.equal(text, `${JSON.stringify(e, null, 2)}\n`);
  assert.deepEqual(Object.keys(e), ["payloadType", "payload", "signatures"]);
  assert.equal(e.signatures.length, 1);
  assert.deepEqual(Object.keys(e.signatures[0]), ["keyid", "sig"]);
  assert.equal(e.signatures[0].keyid, "");
  assert.equal(e.payloadType, "application/vnd.in-toto+json");
  // Standard alphabet with padding, decoding to the exact bytes (checked with atob, not the code under test).
  assert.match(e.payload, /^[A-Za-z0-9+/]+=*$/);
  assert.ok(/[+/]/.test(e.payload), "the fixture exercises the standard alphabet's + and /");
  assert.deepEqual(Uint8Array.from(atob(e.payload), (c) => c.charCodeAt(0)), STATEMENT);
  // The signature is DER: SEQUENCE of two INTEGERs, 70-72 bytes for P-256.
  const sig = Uint8Array.from(atob(e.signatures[0].sig), (c) => c.charCodeAt(0));
  assert.equal(sig[0], 0x30);
  assert.equal(sig[1], sig.length - 2);
  assert.ok(sig.length >= 8 && sig.length <= 72, `${sig.length}`);
});

Deno.test("tampering: flipped payload byte, flipped signature byte, changed payloadType all fail", async () => {
  const k = await keys();
  const pub = k.pem["pkcs8.pub"];
  const good = await signEnvelope(STATEMENT, IN_TOTO_PAYLOAD_TYPE, await pemSigner(k.pem.pkcs8, "k"));
  assert.equal(nodeVerifies(good, pub), true);
  await verifyEnvelope(good, pub);

  const edit = (f: (e: ReturnType<typeof parse>) => void) => {
    const e = parse(good);
    f(e);
    return enc.encode(JSON.stringify(e, null, 2));
  };
  const flippedPayload = edit((e) => {
    const body = Uint8Array.fromBase64(e.payload);
    body[10] ^= 0x01;
    e.payload = body.toBase64();
  });
  const flippedSig = edit((e) => {
    // The last byte is inside INTEGER s: the DER stays well formed, the value changes.
    const sig = Uint8Array.fromBase64(e.signatures[0].sig);
    sig[sig.length - 1] ^= 0x01;
    e.signatures[0].sig = sig.toBase64();
  });
  const otherType = edit((e) => e.payloadType = "application/vnd.in-toto+jsoN");
  for (
    const [what, envelope] of [["payload", flippedPayload], ["sig", flippedSig], ["type", otherType]] as const
  ) {
    assert.equal(nodeVerifies(envelope, pub), false, what);
    assert.equal(await opensslVerifies(envelope, pub), false, what);
    await rejectsWith(() => verifyEnvelope(envelope, pub), VerificationError, /does not verify/);
  }
});

Deno.test("verifyEnvelope: URL-safe base64 accepted (the spec requires it); malformed envelopes refused", async () => {
  const k = await keys();
  const pub = k.pem["pkcs8.pub"];
  const good = parse(await signEnvelope(STATEMENT, IN_TOTO_PAYLOAD_TYPE, await pemSigner(k.pem.pkcs8, "k")));
  const url = (b64: string) =>
    Uint8Array.fromBase64(b64).toBase64({ alphabet: "base64url", omitPadding: true });
  const urlSafe = {
    ...good,
    payload: url(good.payload),
    signatures: [{ keyid: "", sig: url(good.signatures[0].sig) }],
  };
  assert.ok(/[-_]/.test(urlSafe.payload));
  assert.deepEqual((await verifyEnvelope(enc.encode(JSON.stringify(urlSafe)), pub)).payload, STATEMENT);
  // A bad signature first and a good one after: accepted, as one valid signature by the key suffices.
  const two = { ...good, signatures: [{ keyid: "x", sig: "MAA=" }, good.signatures[0]] };
  assert.deepEqual((await verifyEnvelope(enc.encode(JSON.stringify(two)), pub)).payload, STATEMENT);

  const cases: [string, RegExp][] = [
    ["not json", /not UTF-8 JSON/],
    ["[]", /not a JSON object/],
    [JSON.stringify({ ...good, signatures: [] }), /no signatures/],
    [JSON.stringify({ ...good, payloadType: 1 }), /payloadType/],
    [JSON.stringify({ ...good, payload: "%%%" }), /payload is not base64/],
    [JSON.stringify({ ...good, signatures: [{ sig: 5 }] }), /no sig string/],
    [JSON.stringify({ ...good, signatures: [{ sig: "MAA=" }, { sig: "MAA=" }] }), /none of the 2/],
  ];
  for (const [text, pattern] of cases) {
    await rejectsWith(() => verifyEnvelope(enc.encode(text), pub), VerificationError, pattern);
  }
  // The verifying key must be a P-256 SPKI PEM.
  await rejectsWith(
    () => verifyEnvelope(enc.encode(JSON.stringify(good)), k.pem["p384.pub"]),
    ConfigError,
    /P-384/,
  );
  await rejectsWith(
    () => verifyEnvelope(enc.encode(JSON.stringify(good)), "nope"),
    ConfigError,
    /PUBLIC KEY/,
  );
});

Deno.test("signEnvelope refuses a signature that misses its public key or is not DER", async () => {
  const k = await keys();
  const a = await pemSigner(k.pem.pkcs8, "a");
  const b = await pemSigner(k.pem.sec1, "b");
  const mismatched: Signer = { keyid: "", sign: (d) => a.sign(d), publicKeyPem: () => b.publicKeyPem() };
  await rejectsWith(
    () => signEnvelope(STATEMENT, IN_TOTO_PAYLOAD_TYPE, mismatched),
    SigningError,
    /own public key/,
  );
  const raw: Signer = {
    keyid: "",
    sign: () => Promise.resolve(new Uint8Array(64)),
    publicKeyPem: a.publicKeyPem,
  };
  await rejectsWith(
    () => signEnvelope(STATEMENT, IN_TOTO_PAYLOAD_TYPE, raw),
    SigningError,
    /not an ECDSA P-256 DER/,
  );
});

// -----------------------------------------------------------------------------------------------------------
// Refusals

/** Distinct 20-character runs of a PEM's base64 body: none may show up in a message. */
function keyFragments(pemText: string): string[] {
  const body = pemText.split("\n").filter((l) => !l.startsWith("-----") && !l.includes(":")).join("");
  const out: string[] = [];
  for (let i = 0; i + 20 <= body.length; i += 20) out.push(body.slice(i, i + 20));
  return out;
}

const REFUSALS: [string, (k: Keys) => string, RegExp][] = [
  ["encrypted PKCS#8", (k) => k.pem.enc, /encrypted \(PKCS#8\).*not supported.*openssl pkey -in KEY -out/],
  ["encrypted legacy SEC1", (k) => k.pem["sec1-enc"], /encrypted \(legacy PEM\).*openssl pkey/],
  [
    "cosign-encrypted key",
    () =>
      `-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n${btoa('{"kdf":{"name":"scrypt"}}')}\n` +
      "-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n",
    /encrypted by cosign; encrypted keys are not supported/,
  ],
  ["RSA PKCS#8", (k) => k.pem.rsa, /an RSA key; only ECDSA P-256 keys are supported/],
  ["RSA traditional", (k) => k.pem["rsa-trad"], /an RSA key; only ECDSA P-256/],
  ["P-384 PKCS#8", (k) => k.pem.p384, /an ECDSA P-384 key; only ECDSA P-256/],
  ["P-384 SEC1", (k) => k.pem["p384-sec1"], /an ECDSA P-384 key/],
  ["secp256k1 SEC1", (k) => k.pem["k1-sec1"], /secp256k1/],
  ["Ed25519", (k) => k.pem.ed25519, /an Ed25519 key/],
  ["garbage", () => "this is not a key\n", /is not a PEM private key/],
  ["empty", () => "", /is not a PEM private key/],
  ["public key only", (k) => k.pem["pkcs8.pub"], /holds a public key, not a private key/],
  ["bad base64", () => "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n", /not valid PEM/],
  [
    "mismatched END label",
    () => "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
    /not valid PEM/,
  ],
  [
    "truncated DER",
    (k) => k.pem.pkcs8.replace(/\n[^\n]*\n-----END/, "\n-----END"),
    /not valid DER|not a valid/,
  ],
  ["two keys", (k) => k.pem.pkcs8 + k.pem.sec1, /2 private keys/],
];

for (const [what, text, pattern] of REFUSALS) {
  Deno.test(`pemSigner refuses ${what} with a one-line ConfigError`, async () => {
    const k = await keys();
    const pemText = text(k);
    const err = await rejectsWith(() => pemSigner(pemText, "/keys/signing.pem"), ConfigError, pattern);
    assert.equal(err.exitCode, 1);
    assert.ok(err.oneLine().startsWith("/keys/signing.pem: "), err.oneLine());
    for (const fragment of keyFragments(pemText)) {
      assert.ok(!err.oneLine().includes(fragment), "no key material");
    }
  });
}

// -----------------------------------------------------------------------------------------------------------
// Key references

const ARN_KEY = "arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const ARN_ALIAS = "arn:aws:kms:us-east-2:111122223333:alias/ExampleAlias";
const KEY_REFS: [string, KeyRef][] = [
  ["cosign.key.pem", { kind: "file", path: "cosign.key.pem" }],
  ["/abs/path/key.pem", { kind: "file", path: "/abs/path/key.pem" }],
  ["./awskms:/x", { kind: "file", path: "./awskms:/x" }],
  ["AWSKMS:///alias/x", { kind: "file", path: "AWSKMS:///alias/x" }],
  [
    "awskms:///1234abcd-12ab-34cd-56ef-1234567890ab",
    { kind: "awskms", keyId: "1234abcd-12ab-34cd-56ef-1234567890ab" },
  ],
  [
    "awskms:///mrk-1234abcd12ab34cd56ef1234567890ab",
    { kind: "awskms", keyId: "mrk-1234abcd12ab34cd56ef1234567890ab" },
  ],
  [`awskms:///${ARN_KEY}`, { kind: "awskms", keyId: ARN_KEY, region: "us-east-2" }],
  ["awskms:///alias/ExampleAlias", { kind: "awskms", keyId: "alias/ExampleAlias" }],
  ["awskms:///alias/team/signer_2-prod", { kind: "awskms", keyId: "alias/team/signer_2-prod" }],
  [`awskms:///${ARN_ALIAS}`, { kind: "awskms", keyId: ARN_ALIAS, region: "us-east-2" }],
  [
    "awskms://localhost:4566/1234abcd-12ab-34cd-56ef-1234567890ab",
    { kind: "awskms", endpoint: "https://localhost:4566", keyId: "1234abcd-12ab-34cd-56ef-1234567890ab" },
  ],
  [
    `awskms://localhost:4566/${ARN_KEY}`,
    { kind: "awskms", endpoint: "https://localhost:4566", keyId: ARN_KEY, region: "us-east-2" },
  ],
  [
    "awskms://kms.example.com/alias/ExampleAlias",
    { kind: "awskms", endpoint: "https://kms.example.com", keyId: "alias/ExampleAlias" },
  ],
  [
    `awskms://[::1]:4566/${ARN_ALIAS}`,
    { kind: "awskms", endpoint: "https://[::1]:4566", keyId: ARN_ALIAS, region: "us-east-2" },
  ],
  [
    "awskms:///arn:aws-us-gov:kms:us-gov-west-1:111122223333:alias/x",
    {
      kind: "awskms",
      keyId: "arn:aws-us-gov:kms:us-gov-west-1:111122223333:alias/x",
      region: "us-gov-west-1",
    },
  ],
];

for (const [text, expected] of KEY_REFS) {
  Deno.test(`parseKeyRef ${text}`, () => assert.deepStrictEqual(parseKeyRef(text), expected));
}

const BAD_KEY_REFS: [string, RegExp][] = [
  ["", /empty/],
  ["awskms://", /no key after awskms/],
  ["awskms:///", /no key after the endpoint/],
  ["awskms://localhost:4566", /no key after awskms/],
  ["awskms:///not-a-key", /not a key id, key ARN, alias name or alias ARN/],
  ["awskms:///1234abcd-12ab-34cd-56ef-1234567890a", /not a key id/],
  ["awskms:///alias/", /alias name/],
  ["awskms:///alias/has space", /alias name/],
  [
    "awskms:///arn:aws:kms:us-east-1:1111:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    /not a KMS key or alias ARN/,
  ],
  ["awskms:///arn:aws:s3:::bucket", /not a KMS key or alias ARN/],
  ["awskms:///arn:aws:kms:us-east-1:111122223333:key/alias-ish", /not a KMS key or alias ARN/],
  ["awskms://host:99999/alias/x", /port 99999 is out of range/],
  ["awskms://ho st/alias/x", /not a HOST\[:PORT\] endpoint/],
  ["awskms://user@host/alias/x", /not a HOST\[:PORT\] endpoint/],
  ["gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k", /gcpkms:\/\/ signing keys are not supported/],
  ["hashivault://transit-key", /hashivault:\/\/ signing keys are not supported/],
];

for (const [text, pattern] of BAD_KEY_REFS) {
  Deno.test(`parseKeyRef refuses ${JSON.stringify(text)} with a UsageError (exit 2)`, async () => {
    const err = await rejectsWith(() => Promise.resolve().then(() => parseKeyRef(text)), UsageError, pattern);
    assert.equal(err.exitCode, 2);
  });
}

// -----------------------------------------------------------------------------------------------------------
// AWS KMS through the real SDK

const CREDS = { accessKeyId: "AKIDSIGNTEST", secretAccessKey: "sign/test+SECRET/0123456789abcdefghijklmnop" };
const KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab";
const P384_ID = "99999999-12ab-34cd-56ef-1234567890ab";
const AGREEMENT_ID = "88888888-12ab-34cd-56ef-1234567890ab";

/** Environment the SDK reads, set for the in-process call and restored afterwards (shared files disabled). */
async function withAwsEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const all: Record<string, string | undefined> = {
    AWS_ACCESS_KEY_ID: CREDS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDS.secretAccessKey,
    AWS_SESSION_TOKEN: undefined,
    AWS_PROFILE: undefined,
    AWS_DEFAULT_REGION: undefined,
    AWS_ENDPOINT_URL: undefined,
    AWS_CONFIG_FILE: "/nonexistent/aws-config",
    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/aws-credentials",
    AWS_EC2_METADATA_DISABLED: "true",
    ...vars,
  };
  const saved = Object.fromEntries(Object.keys(all).map((k) => [k, Deno.env.get(k)]));
  const apply = (v: Record<string, string | undefined>) => {
    for (const [k, val] of Object.entries(v)) val === undefined ? Deno.env.delete(k) : Deno.env.set(k, val);
  };
  apply(all);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}

async function startApi() {
  const k = await keys();
  return startKmsApi({
    credentials: CREDS,
    keys: [
      { id: KEY_ID, aliases: ["alias/signer"], privateKeyPem: k.pem.kms },
      {
        id: AGREEMENT_ID,
        aliases: ["alias/agreement"],
        privateKeyPem: k.pem.kms,
        keyUsage: "KEY_AGREEMENT",
        signingAlgorithms: [],
      },
      {
        id: P384_ID,
        aliases: ["alias/p384"],
        privateKeyPem: k.pem.p384,
        keySpec: "ECC_NIST_P384",
        signingAlgorithms: ["ECDSA_SHA_384"],
      },
    ],
  });
}

Deno.test("kms: the stand-in refuses unsigned, wrongly scoped and tampered requests (real SigV4 check)", async () => {
  const api = await startApi();
  try {
    const body = JSON.stringify({ KeyId: "alias/signer" });
    const unsigned = await fetch(api.url, {
      method: "POST",
      body,
      headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": "TrentService.GetPublicKey" },
    });
    assert.equal(unsigned.status, 400);
    assert.equal((await unsigned.json()).__type, "MissingAuthenticationTokenException");
    // A real SDK request, replayed as received (accepted: SigV4 has no nonce), then with one change each.
    await withAwsEnv(
      { AWS_REGION: "us-east-1", AWS_ENDPOINT_URL_KMS: api.url },
      () => kmsSigner({ keyId: "alias/signer" }),
    );
    assert.deepEqual(api.refused, ["MissingAuthenticationTokenException: missing Authorization header"]);
    assert.equal(api.accepted.length, 1, "the SDK's own request is accepted");
    const sent = api.accepted[0];
    const replay = async (edit: (h: [string, string][], body: string) => [[string, string][], string]) => {
      const [headers, body] = edit(sent.headers.map(([k, v]) => [k, v]), sent.body);
      const r = await fetch(api.url, { method: "POST", headers: new Headers(headers), body });
      return { status: r.status, type: (await r.json()).__type as string | undefined };
    };
    assert.deepEqual(await replay((h, b) => [h, b]), { status: 200, type: undefined });
    assert.deepEqual(
      await replay((h, b) => [h, b.replace("alias/signer", "alias/signeR")]),
      { status: 400, type: "InvalidSignatureException" },
    );
    assert.deepEqual(
      await replay((h, b) => [h.map(([k, v]) => [k, k === "x-amz-target" ? "TrentService.Sign" : v]), b]),
      { status: 400, type: "InvalidSignatureException" },
    );
    assert.deepEqual(
      await replay((
        h,
        b,
      ) => [h.map(([k, v]) => [k, k === "authorization" ? v.replace("/kms/", "/ecr/") : v]), b]),
      { status: 400, type: "InvalidSignatureException" },
    );
    assert.match(api.refused.at(-1)!, /scoped to service ecr/);
  } finally {
    await api.stop();
  }
});

Deno.test("kms: SDK-signed GetPublicKey + Sign(DIGEST); envelope verifies with node:crypto and openssl", async () => {
  const api = await startApi();
  const k = await keys();
  try {
    const logs: string[] = [];
    const envelope = await withAwsEnv(
      { AWS_REGION: "us-east-1", AWS_ENDPOINT_URL_KMS: api.url },
      async () => {
        const ref = parseKeyRef("awskms:///alias/signer");
        assert.equal(ref.kind, "awskms");
        const signer = await kmsSigner({
          ...ref as Extract<KeyRef, { kind: "awskms" }>,
          log: (l) => logs.push(l),
        });
        assert.equal(signer.keyid, "");
        assert.equal(await signer.publicKeyPem(), k.pem["kms.pub"]);
        return await signEnvelope(STATEMENT, IN_TOTO_PAYLOAD_TYPE, signer);
      },
    );
    assert.deepEqual(api.refused, []);
    // The public key the stand-in holds, as openssl derives it: not the one the signer reported.
    assert.equal(nodeVerifies(envelope, k.pem["kms.pub"]), true);
    assert.equal(await opensslVerifies(envelope, k.pem["kms.pub"]), true);
    assert.equal(nodeVerifies(envelope, k.pem["pkcs8.pub"]), false);
    assert.deepEqual((await verifyEnvelope(envelope, k.pem["kms.pub"])).payload, STATEMENT);
    // KMS was sent the SHA-256 of the PAE (MessageType DIGEST), in the configured region.
    const digest = createHash("sha256").update(pae(IN_TOTO_PAYLOAD_TYPE, STATEMENT)).digest("hex");
    assert.deepEqual(api.calls, [
      { op: "GetPublicKey", region: "us-east-1", keyId: "alias/signer" },
      { op: "Sign", region: "us-east-1", keyId: "alias/signer", digestHex: digest },
    ]);
    assert.deepEqual(logs, ["kms: GetPublicKey for key alias/signer", "kms: Sign for key alias/signer"]);
  } finally {
    await api.stop();
  }
});

Deno.test("kms: an ARN's region and an explicit endpoint are used over the SDK's environment", async () => {
  const api = await startApi();
  const k = await keys();
  try {
    const arn = api.arn(KEY_ID, "eu-west-1");
    const ref = parseKeyRef(`awskms:///${arn}`) as Extract<KeyRef, { kind: "awskms" }>;
    assert.equal(ref.region, "eu-west-1");
    // The environment names another region and a dead endpoint: both must lose.
    const envelope = await withAwsEnv(
      { AWS_REGION: "us-west-2", AWS_ENDPOINT_URL_KMS: "http://127.0.0.1:9" },
      async () =>
        signEnvelope(STATEMENT, IN_TOTO_PAYLOAD_TYPE, await kmsSigner({ ...ref, endpoint: api.url })),
    );
    assert.equal(nodeVerifies(envelope, k.pem["kms.pub"]), true);
    assert.deepEqual(api.calls.map((c) => [c.op, c.region, c.keyId]), [
      ["GetPublicKey", "eu-west-1", arn],
      ["Sign", "eu-west-1", arn],
    ]);
  } finally {
    await api.stop();
  }
});

Deno.test("kms: failures are typed one-line errors without secrets", async (t) => {
  const api = await startApi();
  const env = { AWS_REGION: "us-east-1", AWS_ENDPOINT_URL_KMS: api.url };
  const noSecret = (err: ToolError) => {
    assert.ok(!err.oneLine().includes(CREDS.secretAccessKey));
    assert.ok(!err.oneLine().includes(CREDS.accessKeyId));
  };
  try {
    await t.step("a P-384 key: SigningError naming its spec, and nothing signed", async () => {
      const err = await withAwsEnv(env, () =>
        rejectsWith(
          () => kmsSigner({ keyId: "alias/p384" }),
          SigningError,
          /key alias\/p384 is ECC_NIST_P384 with signing algorithms ECDSA_SHA_384; only ECC_NIST_P256/,
        ));
      noSecret(err);
      assert.equal(err.exitCode, 1);
      assert.deepEqual(api.calls.map((c) => c.op), ["GetPublicKey"]);
    });
    await t.step("a P-256 key for key agreement, not signing: SigningError naming its usage", async () => {
      await withAwsEnv(env, () =>
        rejectsWith(
          () => kmsSigner({ keyId: "alias/agreement" }),
          SigningError,
          /key alias\/agreement has key usage KEY_AGREEMENT, not SIGN_VERIFY/,
        ));
    });
    await t.step("access denied: AuthError with the AWS error code", async () => {
      api.deny = true;
      try {
        const err = await withAwsEnv(env, () =>
          rejectsWith(
            () => kmsSigner({ keyId: "alias/signer" }),
            AuthError,
            new RegExp(
              "^AWS KMS GetPublicKey for key alias/signer was refused: AccessDeniedException: " +
                "User: .* is not authorized",
            ),
          ));
        noSecret(err);
        assert.match(err.oneLine(), /kms:GetPublicKey permission/);
      } finally {
        api.deny = false;
      }
    });
    await t.step("access denied at Sign, after GetPublicKey passed", async () => {
      await withAwsEnv(env, async () => {
        const signer = await kmsSigner({ keyId: "alias/signer" });
        api.deny = true;
        try {
          await rejectsWith(
            () => signEnvelope(STATEMENT, IN_TOTO_PAYLOAD_TYPE, signer),
            AuthError,
            /Sign for key.*AccessDenied/,
          );
        } finally {
          api.deny = false;
        }
      });
    });
    await t.step("a wrong secret key: the stand-in's SigV4 check refuses it, AuthError", async () => {
      const before = api.refused.length;
      const err = await withAwsEnv(
        { ...env, AWS_SECRET_ACCESS_KEY: "wrong/secret" },
        () => rejectsWith(() => kmsSigner({ keyId: "alias/signer" }), AuthError, /InvalidSignatureException/),
      );
      assert.ok(!err.oneLine().includes("wrong/secret"));
      assert.equal(api.refused.length, before + 1);
    });
    await t.step("an unknown key: NotFoundError", async () => {
      await withAwsEnv(
        env,
        () =>
          rejectsWith(
            () => kmsSigner({ keyId: "alias/missing" }),
            NotFoundError,
            /alias\/missing.*NotFoundException/,
          ),
      );
    });
    await t.step("nothing listening: NetworkError", async () => {
      const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = (l.addr as Deno.NetAddr).port;
      l.close();
      await withAwsEnv(env, () =>
        rejectsWith(
          () => kmsSigner({ keyId: "alias/signer", endpoint: `http://127.0.0.1:${port}` }),
          NetworkError,
          /ECONNREFUSED|refused/i,
        ));
    });
    await t.step("no answer before the deadline: TimeoutError", async () => {
      api.hang = true;
      try {
        const started = Date.now();
        await withAwsEnv(env, () =>
          rejectsWith(
            () => kmsSigner({ keyId: "alias/signer", signal: AbortSignal.timeout(300) }),
            TimeoutError,
            /did not answer before the deadline/,
          ));
        assert.ok(Date.now() - started < 5000, "the deadline, not the stand-in, ended it");
      } finally {
        api.hang = false;
      }
    });
    await t.step("no region anywhere: ConfigError", async () => {
      await withAwsEnv(
        { ...env, AWS_REGION: undefined },
        () => rejectsWith(() => kmsSigner({ keyId: "alias/signer" }), ConfigError, /no AWS region/),
      );
    });
  } finally {
    await api.stop();
  }
});
