/**
 * Signing key references, in cosign's syntax: `awskms://[ENDPOINT]/KEY` names an AWS KMS key, anything else
 * is the path of a PEM key file.
 *
 * The KMS forms are those of sigstore's AWS KMS provider (`pkg/signature/kms/aws` in sigstore/sigstore), so a
 * reference that works with `cosign --key` works here and the other way round:
 *
 * - `awskms:///1234abcd-12ab-34cd-56ef-1234567890ab` (key id; multi-region `mrk-…` ids too)
 * - `awskms:///arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab` (key ARN)
 * - `awskms:///alias/ExampleAlias` (alias name)
 * - `awskms:///arn:aws:kms:us-east-2:111122223333:alias/ExampleAlias` (alias ARN)
 * - each with an endpoint, `awskms://localhost:4566/…`, reached over HTTPS as cosign does.
 *
 * An ARN carries its region, which is returned; for the other forms the region comes from the caller.
 *
 * @module
 */

import { UsageError } from "../errors.ts";

/** A parsed key reference. */
export type KeyRef =
  | { kind: "file"; path: string }
  | {
    kind: "awskms";
    /** `https://HOST[:PORT]` when the reference names an endpoint; else the SDK's own resolution applies. */
    endpoint?: string;
    /** What KMS calls `KeyId`: a key id, key ARN, alias name or alias ARN, exactly as written. */
    keyId: string;
    /** The region of an ARN. */
    region?: string;
  };

const SCHEME = "awskms://";

/** cosign's key id pattern, verbatim in meaning: a UUID, dashes optional, or a multi-region `mrk-` id. */
const KEY_ID = "m?r?k?-?[A-Fa-f0-9]{8}-?[A-Fa-f0-9]{4}-?[A-Fa-f0-9]{4}-?[A-Fa-f0-9]{4}-?[A-Fa-f0-9]{12}";
/**
 * ARN prefix: partition, region, 12-digit account. cosign accepts the `aws` and `aws-us-gov` partitions;
 * `aws-cn` is accepted too, since KMS exists there and nothing in signing depends on the partition.
 */
const ARN = "arn:(?:aws|aws-cn|aws-us-gov):kms:([a-z0-9-]+):\\d{12}:";
/** AWS alias names: `alias/` then letters, digits, `/`, `_` and `-`. */
const ALIAS = "alias/[A-Za-z0-9/_-]+";

const KEY_ID_RE = new RegExp(`^${KEY_ID}$`);
const KEY_ARN_RE = new RegExp(`^${ARN}key/${KEY_ID}$`);
const ALIAS_RE = new RegExp(`^${ALIAS}$`);
const ALIAS_ARN_RE = new RegExp(`^${ARN}${ALIAS}$`);
/** A DNS name or IPv4 address, or a bracketed IPv6 address, with an optional port. */
const ENDPOINT_RE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?$/;

/** Other KMS schemes cosign knows; a file of such a name is far less likely than a mistaken reference. */
const OTHER_SCHEMES = ["gcpkms://", "azurekms://", "hashivault://", "k8s://", "gitlab://", "pkcs11:"];

const FORMS = "awskms:///KEY-ID, awskms:///alias/NAME, awskms:///arn:aws:kms:REGION:ACCOUNT:key/KEY-ID " +
  "or awskms:///arn:aws:kms:REGION:ACCOUNT:alias/NAME, with an optional endpoint HOST[:PORT] after awskms://";

/**
 * Parse a signing key reference. Throws {@link UsageError} (exit 2) for an `awskms://` reference that is not
 * one of cosign's forms, for another KMS scheme, and for an empty reference.
 *
 * @example
 * ```ts
 * parseKeyRef("cosign.key.pem"); // { kind: "file", path: "cosign.key.pem" }
 * parseKeyRef("awskms:///arn:aws:kms:eu-west-1:111122223333:alias/signer");
 * // { kind: "awskms", keyId: "arn:aws:kms:eu-west-1:111122223333:alias/signer", region: "eu-west-1" }
 * parseKeyRef("awskms://localhost:4566/alias/signer");
 * // { kind: "awskms", endpoint: "https://localhost:4566", keyId: "alias/signer" }
 * ```
 */
export function parseKeyRef(text: string): KeyRef {
  if (text === "") throw new UsageError("the signing key reference is empty");
  if (!text.startsWith(SCHEME)) {
    const other = OTHER_SCHEMES.find((s) => text.startsWith(s));
    if (other) {
      throw new UsageError(
        `${other} signing keys are not supported; use a PEM private key file or an awskms:// key`,
      );
    }
    return { kind: "file", path: text };
  }
  const rest = text.slice(SCHEME.length);
  const slash = rest.indexOf("/");
  const host = slash < 0 ? "" : rest.slice(0, slash);
  const keyId = slash < 0 ? "" : rest.slice(slash + 1);
  const invalid = (why: string) =>
    new UsageError(`invalid AWS KMS key reference "${text.slice(0, 300)}": ${why}`, {
      hint: `expected ${FORMS}`,
    });
  if (slash < 0) throw invalid("no key after awskms://");
  let endpoint: string | undefined;
  if (host !== "") {
    const m = ENDPOINT_RE.exec(host);
    if (!m) throw invalid(`"${host}" is not a HOST[:PORT] endpoint`);
    if (m[1] !== undefined && (Number(m[1]) < 1 || Number(m[1]) > 65535)) {
      throw invalid(`port ${m[1]} is out of range`);
    }
    endpoint = `https://${host}`;
  }
  const arn = KEY_ARN_RE.exec(keyId) ?? ALIAS_ARN_RE.exec(keyId);
  if (arn) return { kind: "awskms", keyId, region: arn[1], ...(endpoint ? { endpoint } : {}) };
  if (KEY_ID_RE.test(keyId) || ALIAS_RE.test(keyId)) {
    return { kind: "awskms", keyId, ...(endpoint ? { endpoint } : {}) };
  }
  if (keyId === "") throw invalid("no key after the endpoint");
  if (keyId.startsWith("arn:")) throw invalid("not a KMS key or alias ARN");
  if (keyId.startsWith("alias/")) throw invalid("an alias name has only letters, digits, '/', '_' and '-'");
  throw invalid("not a key id, key ARN, alias name or alias ARN");
}
