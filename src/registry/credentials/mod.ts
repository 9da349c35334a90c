/**
 * Where credentials come from, in order: docker config (credHelpers, credsStore, auths), the containers auth
 * file, then ECR natively for ECR hosts; otherwise anonymous.
 *
 * @module
 */

import { parseEcrHost } from "../ecr.ts";
import { type ConfigFiles, lookupConfigCredentials } from "./docker-config.ts";
import { ecrCredential, type EcrSettings } from "./ecr.ts";
import type { CredentialLookup } from "./types.ts";

/** Settings of the default chain. */
export interface ChainOptions extends ConfigFiles {
  /** How ECR tokens are obtained and cached. */
  ecr?: EcrSettings;
  /** Bypass the ECR token cache (a cached token was rejected). */
  refresh?: boolean;
  /** The run's deadline. */
  signal?: AbortSignal;
  log?: (line: string) => void;
}

/**
 * Look up the credential for `registry` (and `repository`, for namespace-scoped auth file entries).
 *
 * @example
 * ```ts
 * const found = await lookupCredentials("123456789012.dkr.ecr.us-east-1.amazonaws.com", "app", {
 *   dockerConfig: "/home/me/.docker/config.json",
 *   ecr: { identity: "env:AKIDEXAMPLE" },
 * });
 * ```
 */
export async function lookupCredentials(
  registry: string,
  repository: string | undefined,
  opts: ChainOptions,
): Promise<CredentialLookup> {
  const found = await lookupConfigCredentials(registry, repository, opts);
  const ecr = parseEcrHost(registry);
  if (found.credential) return found;
  if (ecr) {
    const credential = await ecrCredential({
      ...opts.ecr,
      host: ecr,
      log: opts.log,
      signal: opts.signal,
      refresh: opts.refresh,
    });
    return { credential, searched: [...found.searched, credential.source] };
  }
  return found;
}
