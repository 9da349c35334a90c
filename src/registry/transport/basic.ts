/**
 * Basic authentication: the credential's `user:password` as a challenge answer.
 *
 * @module
 */

import { AuthError } from "../../errors.ts";
import { basicAuthorization, type CredentialLookup } from "../credentials/types.ts";
import type { Authorization } from "./bearer.ts";
import { describeSearch } from "./bearer.ts";

/**
 * The answer to a Basic challenge, from Basic credentials; an {@link AuthError} saying where it looked when
 * there are none.
 *
 * @example
 * ```ts
 * const auth = basicAnswer(lookup, "registry.example"); // { header: "Basic dXNlcjpwYXNz", expiresAt: Infinity }
 * ```
 */
export function basicAnswer(creds: CredentialLookup, registry: string): Authorization {
  const cred = creds.credential;
  if (cred?.kind === "basic") {
    return { header: basicAuthorization(cred.username, cred.password), expiresAt: Infinity };
  }
  throw new AuthError(`${registry} requires authentication (Basic): ${describeSearch(creds)}`, {
    hint: "log in with `docker login` or add credentials to ~/.docker/config.json",
  });
}
