/**
 * Credentials as the auth layer uses them, whatever file, helper or API they came from.
 *
 * @module
 */

/** A credential for one registry. */
export type Credential =
  | { kind: "basic"; username: string; password: string; source: string }
  | { kind: "identity-token"; token: string; source: string }
  | { kind: "registry-token"; token: string; source: string };

/** What a lookup found, and where it looked (for "unauthorized" messages; never the secret itself). */
export interface CredentialLookup {
  credential?: Credential;
  /** Human-readable places searched, in order ("~/.docker/config.json (auths)", "ECR GetAuthorizationToken"). */
  searched: string[];
}

/** Looks up the credential for a registry host (as named in the reference, with port). */
export type CredentialProvider = (registry: string) => Promise<CredentialLookup>;

/** The secret strings of a credential, for redaction. */
export function secretsOf(c: Credential | undefined): string[] {
  if (!c) return [];
  if (c.kind === "basic") return [c.password, btoa(`${c.username}:${c.password}`)];
  return [c.token];
}
