/**
 * A stand-in for the two AWS KMS calls the signing layer makes, `TrentService.GetPublicKey` and
 * `TrentService.Sign` (AWS JSON 1.1 protocol), reached through the AWS SDK's standard `AWS_ENDPOINT_URL_KMS`
 * or an explicit endpoint.
 *
 * Every request must carry a valid SigV4 signature for service `kms`: the stand-in recomputes it from the
 * request and the secret key it was given, so a request the SDK did not really sign (or signed for another
 * service, or with another secret) is refused as AWS refuses it. `Sign` with `MessageType: DIGEST` signs the
 * given 32 bytes as a SHA-256 digest, without hashing them again, with the real `openssl pkeyutl`
 * (node:crypto and Web Crypto always hash their input), and answers with a DER signature, as KMS does.
 *
 * @module
 */

import { createHash, createHmac, createPublicKey, timingSafeEqual } from "node:crypto";
import { run } from "./tools.ts";

/** One key the stand-in holds. */
export interface KmsTestKey {
  /** The key id (a UUID). */
  id: string;
  /** Alias names (`alias/NAME`) that point at it. */
  aliases?: string[];
  /** PEM private key; `Sign` needs it (EC keys only, used through `openssl pkeyutl`). */
  privateKeyPem: string;
  /** Defaults: `ECC_NIST_P256`, `["ECDSA_SHA_256"]`, `SIGN_VERIFY`. */
  keySpec?: string;
  signingAlgorithms?: string[];
  keyUsage?: string;
}

/** A running stand-in. */
export interface KmsApi {
  url: string;
  accountId: string;
  /** Every call that passed the signature check: operation, region of the SigV4 scope, KeyId as sent. */
  calls: { op: string; region: string; keyId: string; digestHex?: string }[];
  /** Every request that passed the signature check, as received, for replays. */
  accepted: { headers: [string, string][]; body: string }[];
  /** Refused requests (bad or missing SigV4), with the reason. */
  refused: string[];
  /** Answer every call with `AccessDeniedException`. */
  deny: boolean;
  /** Never answer (until the client gives up), to exercise deadlines. */
  hang: boolean;
  /** The key's ARN in `region`. */
  arn(id: string, region: string): string;
  stop(): Promise<void>;
}

/** Start the stand-in on loopback, accepting requests signed with `credentials`. */
export function startKmsApi(opts: {
  keys: KmsTestKey[];
  credentials: { accessKeyId: string; secretAccessKey: string };
  accountId?: string;
}): KmsApi {
  const accountId = opts.accountId ?? "111122223333";
  const arn = (id: string, region: string) => `arn:aws:kms:${region}:${accountId}:key/${id}`;
  const api: KmsApi = {
    url: "",
    accountId,
    calls: [],
    accepted: [],
    refused: [],
    deny: false,
    hang: false,
    arn,
    stop: () => Promise.resolve(),
  };
  const error = (status: number, type: string, message: string) =>
    Response.json({ __type: type, message }, {
      status,
      headers: { "content-type": "application/x-amz-json-1.1" },
    });
  const hanging = new Set<() => void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const body = new Uint8Array(await req.arrayBuffer());
    const check = checkSigV4(req, body, opts.credentials);
    if (typeof check === "string") {
      api.refused.push(check);
      const [type, reason] = check.split(": ");
      return error(400, type, reason);
    }
    api.accepted.push({ headers: [...req.headers], body: new TextDecoder().decode(body) });
    if (api.hang) {
      // Released after a while or when the stand-in stops, so that shutdown never waits on it for long.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 10_000);
        hanging.add(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      return error(500, "KMSInternalException", "released");
    }
    const region = check.region;
    const target = req.headers.get("x-amz-target") ?? "";
    if (req.headers.get("content-type") !== "application/x-amz-json-1.1") {
      return error(400, "SerializationException", "expected application/x-amz-json-1.1");
    }
    const input = JSON.parse(new TextDecoder().decode(body) || "{}");
    const keyId = String(input.KeyId ?? "");
    const op = target.replace(/^TrentService\./, "");
    if (op !== "Sign" && op !== "GetPublicKey") return error(400, "UnknownOperationException", target);
    if (api.deny) {
      return error(
        400,
        "AccessDeniedException",
        `User: arn:aws:iam::${accountId}:user/tester is not authorized to perform: kms:${op} on resource: ` +
          `${keyId} because no identity-based policy allows the kms:${op} action`,
      );
    }
    const key = findKey(opts.keys, keyId, region, accountId);
    if (!key) {
      api.calls.push({ op, region, keyId });
      return error(400, "NotFoundException", `Key '${keyId}' does not exist`);
    }
    const spec = key.keySpec ?? "ECC_NIST_P256";
    const algorithms = key.signingAlgorithms ?? ["ECDSA_SHA_256"];
    if (op === "GetPublicKey") {
      api.calls.push({ op, region, keyId });
      const spki = createPublicKey(key.privateKeyPem).export({ type: "spki", format: "der" });
      return Response.json({
        KeyId: arn(key.id, region),
        PublicKey: new Uint8Array(spki).toBase64(),
        KeySpec: spec,
        CustomerMasterKeySpec: spec,
        KeyUsage: key.keyUsage ?? "SIGN_VERIFY",
        SigningAlgorithms: algorithms,
      }, { headers: { "content-type": "application/x-amz-json-1.1" } });
    }
    const message = Uint8Array.fromBase64(String(input.Message ?? ""));
    api.calls.push({ op, region, keyId, digestHex: message.toHex() });
    if (!algorithms.includes(input.SigningAlgorithm)) {
      return error(400, "InvalidKeyUsageException", `${input.SigningAlgorithm} is not valid for this key`);
    }
    if (input.MessageType !== "DIGEST" || message.length !== 32) {
      return error(400, "ValidationException", "this stand-in signs 32-byte SHA-256 digests only");
    }
    const signature = await pkeyutlSign(key.privateKeyPem, message);
    return Response.json({
      KeyId: arn(key.id, region),
      Signature: signature.toBase64(),
      SigningAlgorithm: input.SigningAlgorithm,
    }, { headers: { "content-type": "application/x-amz-json-1.1" } });
  });
  const addr = server.addr as Deno.NetAddr;
  api.url = `http://127.0.0.1:${addr.port}`;
  api.stop = () => {
    for (const release of hanging) release();
    return server.shutdown();
  };
  return api;
}

/** The key a KeyId names: key id, key ARN, alias name or alias ARN (ARNs only in the request's region). */
function findKey(keys: KmsTestKey[], keyId: string, region: string, account: string): KmsTestKey | undefined {
  const prefix = `arn:aws:kms:${region}:${account}:`;
  const local = keyId.startsWith("arn:")
    ? (keyId.startsWith(prefix) ? keyId.slice(prefix.length) : "")
    : keyId;
  return keys.find((k) => local === k.id || local === `key/${k.id}` || (k.aliases ?? []).includes(local));
}

/** ECDSA over `digest` as a prehashed SHA-256 digest, in DER: `openssl pkeyutl -sign` does no hashing. */
async function pkeyutlSign(privateKeyPem: string, digest: Uint8Array): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "kms-api-" });
  try {
    await Deno.writeTextFile(`${dir}/key.pem`, privateKeyPem, { mode: 0o600 });
    const out = await run("openssl", ["pkeyutl", "-sign", "-inkey", `${dir}/key.pem`], {
      stdin: digest,
      check: true,
      env: { OPENSSL_CONF: "/dev/null" },
    });
    return out.stdout;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const hmac = (key: Uint8Array | string, data: string) =>
  new Uint8Array(createHmac("sha256", key).update(data).digest());
const sha256Hex = (data: Uint8Array | string) => createHash("sha256").update(data).digest("hex");

/**
 * Check the request's SigV4 signature (AWS Signature Version 4, header form) by recomputing it: canonical
 * request, string to sign, derived key. Returns the scope's region, or why the request is refused
 * (`Type: reason`, Type the AWS error code to answer with).
 */
export function checkSigV4(
  req: Request,
  body: Uint8Array,
  creds: { accessKeyId: string; secretAccessKey: string },
): { region: string } | string {
  const auth = req.headers.get("authorization");
  if (!auth) return "MissingAuthenticationTokenException: missing Authorization header";
  const m = new RegExp(
    "^AWS4-HMAC-SHA256 Credential=([^/]+)/(\\d{8})/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request, ?" +
      "SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$",
  ).exec(auth);
  if (!m) return "IncompleteSignatureException: malformed Authorization header";
  const [, akid, date, region, service, signedHeaders, signature] = m;
  if (akid !== creds.accessKeyId) return "UnrecognizedClientException: unknown access key id";
  if (service !== "kms") return `InvalidSignatureException: signature scoped to service ${service}, not kms`;
  const amzDate = req.headers.get("x-amz-date") ?? "";
  if (!amzDate.startsWith(date)) return "InvalidSignatureException: x-amz-date does not match the scope date";
  const names = signedHeaders.split(";");
  for (const required of ["host", "x-amz-date", "x-amz-target"]) {
    if (!names.includes(required)) return `InvalidSignatureException: ${required} is not signed`;
  }
  const url = new URL(req.url);
  const canonicalHeaders = names.map((n) =>
    `${n}:${(req.headers.get(n) ?? "").trim().replace(/\s+/g, " ")}\n`
  )
    .join("");
  const query = [...url.searchParams].map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .sort()
    .join("&");
  const canonicalRequest = [
    req.method,
    url.pathname || "/",
    query,
    canonicalHeaders,
    signedHeaders,
    sha256Hex(body),
  ].join("\n");
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256Hex(canonicalRequest)].join("\n");
  let key = hmac(`AWS4${creds.secretAccessKey}`, date);
  for (const part of [region, service, "aws4_request"]) key = hmac(key, part);
  const expected = hmac(key, stringToSign);
  const given = Uint8Array.fromHex(signature);
  if (!timingSafeEqual(expected, given)) {
    return "InvalidSignatureException: The request signature we calculated does not match the signature " +
      "you provided";
  }
  return { region };
}
