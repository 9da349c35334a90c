/**
 * `--sign KEYREF`: a signer from a key reference (a PEM key file, or an AWS KMS key in cosign's `awskms://`
 * syntax), set up before any registry request so a bad key costs nothing, and the envelope it writes.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
import { IN_TOTO_PAYLOAD_TYPE, signEnvelope, type Signer } from "../sign/dsse.ts";
import { parseKeyRef } from "../sign/keyref.ts";
import type { RunContext } from "./context.ts";

/** Largest key file read. */
const MAX_KEY_BYTES = 64 * 1024;

/** The signer `keyref` names. KMS: the region of an ARN, else `--region`, else AWS_REGION / AWS_DEFAULT_REGION. */
export async function signerFor(keyref: string, ctx: RunContext): Promise<Signer> {
  const ref = parseKeyRef(keyref);
  if (ref.kind === "file") {
    const path = ctx.resolve(ref.path);
    let text: string;
    try {
      const file = await Deno.open(path);
      try {
        const info = await file.stat();
        if (!info.isFile) throw new ConfigError(`--sign ${ref.path} is not a regular file`);
        const buf = new Uint8Array(MAX_KEY_BYTES + 1);
        let n = 0;
        for (;;) {
          const got = await file.read(buf.subarray(n));
          if (got === null) break;
          n += got;
          if (n > MAX_KEY_BYTES) throw new ConfigError(`--sign ${ref.path} is too large to be a key file`);
        }
        text = new TextDecoder().decode(buf.subarray(0, n));
      } finally {
        file.close();
      }
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(
        `cannot read the key file --sign ${ref.path}: ${(err as Error).message.split("\n")[0]}`,
      );
    }
    const { pemSigner } = await import("../sign/pem.ts");
    return await pemSigner(text, `key file ${ref.path}`);
  }
  const { kmsSigner } = await import("../sign/kms.ts");
  const env = ctx.io.env;
  return await kmsSigner({
    keyId: ref.keyId,
    region: ref.region ??
      (ctx.options.region?.trim() || env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined),
    ...(ref.endpoint ? { endpoint: ref.endpoint } : {}),
    signal: ctx.signal,
    log: ctx.log,
  });
}

/**
 * The statement signed into a DSSE envelope, written as one line of JSON and a newline (the `.intoto.jsonl`
 * form SLSA verifiers read; `cosign verify-blob-attestation` reads it too).
 */
export async function envelope(statement: Uint8Array, signer: Signer): Promise<Uint8Array> {
  const signed = await signEnvelope(statement, IN_TOTO_PAYLOAD_TYPE, signer);
  return new TextEncoder().encode(`${JSON.stringify(JSON.parse(new TextDecoder().decode(signed)))}\n`);
}
