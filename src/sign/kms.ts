/**
 * A {@link Signer} backed by an AWS KMS asymmetric key (`ECC_NIST_P256`, `SIGN_VERIFY`), as cosign signs with
 * `awskms://` keys: the data is hashed locally and KMS signs the SHA-256 digest (`MessageType: DIGEST`,
 * `ECDSA_SHA_256`), answering with a DER signature, which is what a DSSE envelope carries.
 *
 * `@aws-sdk/client-kms` is imported only here, only when a KMS key is used. It resolves credentials, the
 * region when none is passed, and `AWS_ENDPOINT_URL_KMS` itself; this module reads no environment.
 *
 * The key is checked once, up front, with `GetPublicKey` (which also reports the key spec and algorithms, so
 * no `DescribeKey` permission is needed): a key of the wrong kind fails before anything is signed.
 *
 * @module
 */

import {
  AuthError,
  ConfigError,
  NetworkError,
  NotFoundError,
  SigningError,
  TimeoutError,
  ToolError,
} from "../errors.ts";
import { pemEncode } from "./asn1.ts";
import { buf, importVerifyingKey, type Signer } from "./dsse.ts";

/** Where the KMS key is and how to reach it. */
export interface KmsSignerOptions {
  /** KMS `KeyId`: key id, key ARN, alias name (`alias/NAME`) or alias ARN. */
  keyId: string;
  /** AWS region; when absent the SDK's own resolution applies (and fails when it finds none). */
  region?: string;
  /** Endpoint URL (`https://host:port`); when absent the SDK's own resolution applies. */
  endpoint?: string;
  /** The run's deadline. */
  signal?: AbortSignal;
  log?: (line: string) => void;
}

/** The only key spec and algorithm signed with: ECDSA P-256 with SHA-256, what cosign verifies DSSE with. */
const KEY_SPEC = "ECC_NIST_P256";
const ALGORITHM = "ECDSA_SHA_256";

/** KMS and STS error names that mean the credentials were missing, wrong, or not allowed to use the key. */
const AUTH_ERRORS = new Set([
  "AccessDeniedException",
  "UnrecognizedClientException",
  "InvalidSignatureException",
  "IncompleteSignature",
  "MissingAuthenticationToken",
  "InvalidClientTokenId",
  "ExpiredTokenException",
  "ExpiredToken",
  "CredentialsProviderError",
]);

/** KMS errors about the key's state or use rather than about access. */
const KEY_ERRORS = new Set([
  "DisabledException",
  "KMSInvalidStateException",
  "InvalidKeyUsageException",
  "KeyUnavailableException",
  "UnsupportedOperationException",
  "ValidationException",
  "InvalidGrantTokenException",
]);

/**
 * A {@link Signer} for an AWS KMS key. Calls `GetPublicKey` before returning, and throws unless the key is an
 * `ECC_NIST_P256` signing key that offers `ECDSA_SHA_256`. The DSSE `keyid` is "", as cosign writes for KMS
 * keys too (its DSSE wrapper leaves the field empty whatever the key).
 *
 * Failures are one-line errors: {@link AuthError} (credentials or permissions), {@link NotFoundError} (no
 * such key or alias), {@link SigningError} (a key of the wrong kind or state), {@link NetworkError},
 * {@link TimeoutError} (the signal fired), {@link ConfigError} (no region).
 *
 * @example
 * ```ts
 * const ref = parseKeyRef("awskms:///arn:aws:kms:eu-west-1:111122223333:alias/signer");
 * if (ref.kind === "awskms") {
 *   const signer = await kmsSigner({ ...ref, signal: AbortSignal.timeout(30_000) });
 *   const envelope = await signEnvelope(statement, IN_TOTO_PAYLOAD_TYPE, signer);
 * }
 * ```
 */
export async function kmsSigner(opts: KmsSignerOptions): Promise<Signer> {
  const sdk = await import("@aws-sdk/client-kms");
  const where = `key ${opts.keyId}${opts.region ? ` in ${opts.region}` : ""}`;

  async function call<T>(
    op: string,
    run: (client: InstanceType<typeof sdk.KMSClient>) => Promise<T>,
  ): Promise<T> {
    opts.log?.(`kms: ${op} for ${where}${opts.endpoint ? ` at ${opts.endpoint}` : ""}`);
    // Checked before the call too: the SDK would otherwise resolve credentials (and maybe reach IMDS) first.
    if (opts.signal?.aborted) throw timeout(op, where);
    const client = new sdk.KMSClient({
      ...(opts.region ? { region: opts.region } : {}),
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    });
    try {
      return await run(client);
    } catch (err) {
      throw kmsFailure(err, op, where, opts);
    } finally {
      client.destroy();
    }
  }

  const info = await call(
    "GetPublicKey",
    (c) => c.send(new sdk.GetPublicKeyCommand({ KeyId: opts.keyId }), { abortSignal: opts.signal }),
  );
  const spec = info.KeySpec ?? info.CustomerMasterKeySpec;
  const algorithms = info.SigningAlgorithms ?? [];
  if (info.KeyUsage !== undefined && info.KeyUsage !== "SIGN_VERIFY") {
    throw new SigningError(`AWS KMS ${where} has key usage ${info.KeyUsage}, not SIGN_VERIFY`, {
      hint: `sign with an asymmetric ${KEY_SPEC} key created with key usage SIGN_VERIFY`,
    });
  }
  if (spec !== KEY_SPEC || !algorithms.includes(ALGORITHM)) {
    throw new SigningError(
      `AWS KMS ${where} is ${spec ?? "of unknown spec"} with signing algorithms ${
        algorithms.join(", ") || "none"
      }; only ${KEY_SPEC} keys with ${ALGORITHM} are supported`,
      { hint: `sign with an asymmetric ${KEY_SPEC} key created with key usage SIGN_VERIFY` },
    );
  }
  if (!info.PublicKey?.length) {
    throw new SigningError(`AWS KMS GetPublicKey returned no public key for ${where}`);
  }
  const publicPem = pemEncode("PUBLIC KEY", info.PublicKey);
  // KMS said P-256; the key it sent must be one, or every signature would fail verification later.
  await importVerifyingKey(publicPem, `the public key AWS KMS returned for ${where}`);

  return {
    keyid: "",
    async sign(data: Uint8Array): Promise<Uint8Array> {
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", buf(data)));
      const out = await call("Sign", (c) =>
        c.send(
          new sdk.SignCommand({
            KeyId: opts.keyId,
            Message: digest,
            MessageType: "DIGEST",
            SigningAlgorithm: ALGORITHM,
          }),
          { abortSignal: opts.signal },
        ));
      if (!out.Signature?.length) throw new SigningError(`AWS KMS Sign returned no signature for ${where}`);
      return out.Signature;
    },
    publicKeyPem: () => Promise.resolve(publicPem),
  };
}

function timeout(op: string, where: string): TimeoutError {
  return new TimeoutError(`AWS KMS ${op} for ${where} did not answer before the deadline`, {
    hint: "check the network path to the AWS KMS API or allow more time",
  });
}

/** The first line of an SDK message, bounded: SDK messages can carry a whole response body. */
function firstLine(text: string | undefined): string {
  return (text ?? "").split("\n")[0].slice(0, 300);
}

/** Map whatever the SDK threw to one ToolError; nothing of the request (credentials, digest) is included. */
function kmsFailure(err: unknown, op: string, where: string, opts: KmsSignerOptions): ToolError {
  if (err instanceof ToolError) return err;
  const e = (err ?? {}) as {
    name?: string;
    message?: string;
    code?: string;
    cause?: { code?: string };
    $fault?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const name = e.name ?? "Error";
  // A bare "Error" says nothing; an AWS error code ("AccessDeniedException") says the most.
  const detail = name === "Error" ? firstLine(e.message) : `${name}: ${firstLine(e.message)}`;
  if (opts.signal?.aborted || name === "AbortError") return timeout(op, where);
  if (AUTH_ERRORS.has(name)) {
    return new AuthError(`AWS KMS ${op} for ${where} was refused: ${detail}`, {
      hint: `check the AWS credentials and their kms:${op} permission on the key`,
    });
  }
  if (name === "NotFoundException") {
    return new NotFoundError(`AWS KMS ${op} for ${where} failed: ${detail}`, {
      hint: "check the key id or alias, the AWS account and the region",
    });
  }
  if (KEY_ERRORS.has(name)) return new SigningError(`AWS KMS ${op} for ${where} failed: ${detail}`);
  if (/region is missing/i.test(e.message ?? "")) {
    return new ConfigError(`AWS KMS ${op} for ${where}: no AWS region`, {
      hint: "use a key ARN, which names its region, or configure a region for the AWS SDK (AWS_REGION)",
    });
  }
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined && e.$fault === "client") {
    return new SigningError(`AWS KMS ${op} for ${where} failed (HTTP ${status}): ${detail}`);
  }
  const code = e.code ?? e.cause?.code;
  if (name === "TimeoutError" || code === "ETIMEDOUT") return timeout(op, where);
  return new NetworkError(
    `AWS KMS ${op} for ${where} failed${status ? ` (HTTP ${status})` : ""}: ${
      code ? `${code}: ` : ""
    }${detail}`,
    {
      hint: opts.endpoint ? `check that ${opts.endpoint} is reachable` : "check the network path to AWS KMS",
    },
  );
}
