/**
 * Credentials as the auth layer uses them, whatever file, helper or API they came from.
 *
 * @module
 */

/** A credential for one registry. */
export type Credential =
  | { kind: "basic"; username: string; password: string; source: string; cached?: boolean }
  | { kind: "identity-token"; token: string; source: string }
  | { kind: "registry-token"; token: string; source: string };

/** What a lookup found, and where it looked (for "unauthorized" messages; never the secret itself). */
export interface CredentialLookup {
  credential?: Credential;
  /** Human-readable places searched, in order ("~/.docker/config.json (auths)", "ECR GetAuthorizationToken"). */
  searched: string[];
}

/**
 * The value of a Basic `Authorization` header: base64 of the UTF-8 bytes of `user:password` (RFC 7617), so
 * passwords outside Latin-1 work.
 *
 * @example
 * ```ts
 * basicAuthorization("AWS", "s3cret"); // "Basic QVdTOnMzY3JldA=="
 * ```
 */
export function basicAuthorization(username: string, password: string): string {
  return `Basic ${encodeBasic(username, password)}`;
}

function encodeBasic(username: string, password: string): string {
  const bytes = new TextEncoder().encode(`${username}:${password}`);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** The secret strings of a credential, for redaction. */
export function secretsOf(c: Credential | undefined): string[] {
  if (!c) return [];
  if (c.kind === "basic") return [c.password, encodeBasic(c.username, c.password)];
  return [c.token];
}
