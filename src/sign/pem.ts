/**
 * A {@link Signer} from an ECDSA P-256 private key in PEM: PKCS#8 (`BEGIN PRIVATE KEY`, what
 * `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256` writes) or SEC1 (`BEGIN EC PRIVATE KEY`,
 * what `openssl ecparam -genkey -name prime256v1` writes, after an `EC PARAMETERS` block). Encrypted keys,
 * other algorithms and other curves are refused with a one-line {@link ConfigError} naming what the key is.
 *
 * Web Crypto signs (it is built in; `node:crypto` costs start-up time). Web Crypto imports EC private keys
 * only as PKCS#8 or JWK, so a SEC1 key is wrapped into PKCS#8 here: the SEC1 structure is exactly PKCS#8's
 * inner private key, so the wrapping is three DER items around it.
 *
 * @module
 */

import { ConfigError, ToolError } from "../errors.ts";
import {
  Asn1Error,
  children,
  derItem,
  ecdsaP1363ToDer,
  Oid,
  oidDer,
  oidText,
  type PemBlock,
  pemBlocks,
  pemEncode,
  readOnly,
  Tag,
} from "./asn1.ts";
import { buf, keyAlgorithmName, type Signer } from "./dsse.ts";

const ECDSA_P256 = { name: "ECDSA", namedCurve: "P-256" } as const;
const ECDSA_SHA256 = { name: "ECDSA", hash: "SHA-256" } as const;

/** How to make a key this module accepts, for refusal messages. */
const MAKE_ONE = "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out key.pem";

/** How to remove a passphrase with OpenSSL (it asks for the passphrase and writes unencrypted PKCS#8). */
const DECRYPT = "openssl pkey -in KEY -out KEY.unencrypted.pem";

/** PEM labels of private keys this module recognises, to refuse the unsupported ones by name. */
const PRIVATE_LABELS = new Set([
  "PRIVATE KEY",
  "EC PRIVATE KEY",
  "ENCRYPTED PRIVATE KEY",
  "ENCRYPTED SIGSTORE PRIVATE KEY",
  "ENCRYPTED COSIGN PRIVATE KEY",
  "RSA PRIVATE KEY",
  "DSA PRIVATE KEY",
  "OPENSSH PRIVATE KEY",
]);

/**
 * Load an ECDSA P-256 private key from PEM text as a {@link Signer}. `source` names where the text came from
 * (a file path) in error messages; the key itself never appears in one. The DSSE `keyid` is "", as cosign
 * writes for key files.
 *
 * @example
 * ```ts
 * const signer = await pemSigner(await Deno.readTextFile("key.pem"), "key.pem");
 * const envelope = await signEnvelope(statement, IN_TOTO_PAYLOAD_TYPE, signer);
 * ```
 */
export async function pemSigner(pemText: string, source: string): Promise<Signer> {
  const pkcs8 = privateKeyPkcs8(pemText, source);
  let signingKey: CryptoKey;
  let publicPem: string;
  try {
    // Web Crypto derives the public key only through an extractable key's JWK; the key kept for signing is
    // imported again as non-extractable.
    const extractable = await crypto.subtle.importKey("pkcs8", buf(pkcs8), ECDSA_P256, true, ["sign"]);
    const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", extractable);
    const pub = await crypto.subtle.importKey("jwk", { kty, crv, x, y }, ECDSA_P256, true, ["verify"]);
    publicPem = pemEncode("PUBLIC KEY", new Uint8Array(await crypto.subtle.exportKey("spki", pub)));
    signingKey = await crypto.subtle.importKey("pkcs8", buf(pkcs8), ECDSA_P256, false, ["sign"]);
  } catch (err) {
    if (err instanceof ToolError) throw err;
    throw new ConfigError(`${source}: not a valid ECDSA P-256 private key`, {
      hint: `make one with ${MAKE_ONE}`,
    });
  } finally {
    pkcs8.fill(0);
  }
  return {
    keyid: "",
    async sign(data: Uint8Array): Promise<Uint8Array> {
      const p1363 = new Uint8Array(await crypto.subtle.sign(ECDSA_SHA256, signingKey, buf(data)));
      return ecdsaP1363ToDer(p1363);
    },
    publicKeyPem: () => Promise.resolve(publicPem),
  };
}

/** The one P-256 private key of `pemText` as PKCS#8 DER, or a ConfigError saying why not. */
function privateKeyPkcs8(pemText: string, source: string): Uint8Array {
  let blocks: PemBlock[];
  try {
    blocks = pemBlocks(pemText);
  } catch (err) {
    if (!(err instanceof Asn1Error)) throw err;
    throw new ConfigError(`${source}: not valid PEM (${err.message})`);
  }
  // Other blocks (EC PARAMETERS before a SEC1 key, certificates, public keys) are not needed to sign.
  const keys = blocks.filter((b) => PRIVATE_LABELS.has(b.label));
  if (keys.length === 0) {
    const what = blocks.some((b) => b.label === "PUBLIC KEY")
      ? "holds a public key, not a private key"
      : blocks.length > 0
      ? `holds no private key (PEM blocks: ${blocks.map((b) => b.label).join(", ")})`
      : "is not a PEM private key";
    throw new ConfigError(`${source}: ${what}`, {
      hint: `an ECDSA P-256 private key is needed: ${MAKE_ONE}`,
    });
  }
  if (keys.length > 1) {
    for (const b of keys) b.der.fill(0);
    throw new ConfigError(`${source}: holds ${keys.length} private keys; expected one`);
  }
  const [key] = keys;
  try {
    return pkcs8Of(key, source);
  } catch (err) {
    if (!(err instanceof Asn1Error)) throw err;
    throw new ConfigError(`${source}: the ${key.label} PEM block is not valid DER (${err.message})`);
  } finally {
    key.der.fill(0);
  }
}

function pkcs8Of(block: PemBlock, source: string): Uint8Array {
  switch (block.label) {
    case "PRIVATE KEY":
      checkPkcs8(block.der, source);
      return block.der.slice();
    case "EC PRIVATE KEY":
      if (block.headers.some((h) => /^Proc-Type:.*ENCRYPTED/i.test(h))) throw encrypted(source, "legacy PEM");
      return sec1ToPkcs8(block.der, source);
    case "ENCRYPTED PRIVATE KEY":
      throw encrypted(source, "PKCS#8");
    case "ENCRYPTED SIGSTORE PRIVATE KEY":
    case "ENCRYPTED COSIGN PRIVATE KEY":
      throw new ConfigError(
        `${source}: the private key is encrypted by cosign; encrypted keys are not supported, and OpenSSL ` +
          `cannot decrypt cosign's format`,
        {
          hint:
            `use an unencrypted P-256 PEM key (${MAKE_ONE}; cosign's import-key-pair command gives cosign ` +
            `the same key) or an AWS KMS key`,
        },
      );
    case "RSA PRIVATE KEY":
      throw unsupported(source, "an RSA key");
    case "DSA PRIVATE KEY":
      throw unsupported(source, "a DSA key");
    case "OPENSSH PRIVATE KEY":
      throw new ConfigError(
        `${source}: an OpenSSH-format private key; only PEM (PKCS#8 or SEC1) keys are read`,
        {
          hint: "for an ECDSA P-256 SSH key, `ssh-keygen -p -m PKCS8 -f KEY` rewrites it as PKCS#8 PEM",
        },
      );
    default:
      throw unsupported(source, `a ${block.label} block`);
  }
}

function encrypted(source: string, kind: string): ConfigError {
  return new ConfigError(
    `${source}: the private key is encrypted (${kind}); encrypted keys are not supported`,
    {
      hint: `decrypt it with \`${DECRYPT}\` (it asks for the passphrase) and keep the result private`,
    },
  );
}

function unsupported(source: string, what: string): ConfigError {
  return new ConfigError(`${source}: ${what}; only ECDSA P-256 keys are supported`, {
    hint: `make one with ${MAKE_ONE}`,
  });
}

/** Check a PKCS#8 PrivateKeyInfo is an EC key on P-256, naming what it is otherwise. */
function checkPkcs8(der: Uint8Array, source: string): void {
  const [version, alg, privateKey] = children(readOnly(der, Tag.SEQUENCE, "PrivateKeyInfo"));
  if (version?.tag !== Tag.INTEGER || alg?.tag !== Tag.SEQUENCE || privateKey?.tag !== Tag.OCTET_STRING) {
    throw new Asn1Error("not a PKCS#8 PrivateKeyInfo");
  }
  const [oid, params] = children(alg.content);
  if (oid?.tag !== Tag.OID) throw new Asn1Error("no algorithm OBJECT IDENTIFIER");
  const name = keyAlgorithmName(
    oidText(oid.content),
    params?.tag === Tag.OID ? oidText(params.content) : undefined,
  );
  if (name !== "P-256") throw unsupported(source, name);
}

/**
 * SEC1 `ECPrivateKey` (RFC 5915) to PKCS#8 (RFC 5208): `SEQUENCE { INTEGER 0, SEQUENCE { id-ecPublicKey,
 * prime256v1 }, OCTET STRING { ECPrivateKey } }`. The curve comes from the key's own parameters; a SEC1 key
 * without them names no curve and is refused rather than guessed (secp256k1 keys have the same length).
 */
function sec1ToPkcs8(der: Uint8Array, source: string): Uint8Array {
  const items = children(readOnly(der, Tag.SEQUENCE, "ECPrivateKey"));
  const [version, privateKey] = items;
  if (
    version?.tag !== Tag.INTEGER || version.content.length !== 1 || version.content[0] !== 1 ||
    privateKey?.tag !== Tag.OCTET_STRING
  ) {
    throw new Asn1Error("not a SEC1 ECPrivateKey");
  }
  const params = items.find((i) => i.tag === Tag.CONTEXT_0);
  if (!params) {
    throw new ConfigError(
      `${source}: the EC private key names no curve; only ECDSA P-256 keys are supported`,
      {
        hint: `make one with ${MAKE_ONE}`,
      },
    );
  }
  const [curve] = children(params.content);
  const name = keyAlgorithmName(
    Oid.EC_PUBLIC_KEY,
    curve?.tag === Tag.OID ? oidText(curve.content) : undefined,
  );
  if (name !== "P-256") throw unsupported(source, name);
  return derItem(
    Tag.SEQUENCE,
    derItem(Tag.INTEGER, new Uint8Array([0])),
    derItem(Tag.SEQUENCE, oidDer(Oid.EC_PUBLIC_KEY), oidDer(Oid.P256)),
    derItem(Tag.OCTET_STRING, der),
  );
}
