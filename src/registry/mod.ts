/**
 * Opening a registry: compose the transport (auth -> redirects -> retries -> logging -> fetch) and return an
 * {@link ImageSource} for one reference.
 *
 * @module
 */

import { apiHost, type Reference } from "../reference.ts";
import { TOOL_NAME, VERSION } from "../version.ts";
import { RegistrySource } from "./client.ts";
import { parseEcrHost } from "./ecr.ts";
import { type ChainOptions, lookupCredentials } from "./credentials/mod.ts";
import { secretsOf } from "./credentials/types.ts";
import { withAuth } from "./transport/auth.ts";
import { dnsResolver, type HostResolver } from "./transport/destination.ts";
import { baseFetcher } from "./transport/fetcher.ts";
import { type Logger, withLogging } from "./transport/log.ts";
import { withRedirects } from "./transport/redirect.ts";
import { type Sleep, withRetry } from "./transport/retry.ts";

/** Where credentials come from: the files to read and how ECR tokens are obtained. */
export type CredentialSettings = Omit<ChainOptions, "refresh" | "signal" | "log">;

/** Everything that decides how a registry is reached. */
export interface RegistrySettings {
  /** Where credentials come from; anonymous (and ECR with the SDK's defaults) when absent. */
  credentials?: CredentialSettings;
  /** Talk HTTP instead of HTTPS. */
  plainHttp?: boolean;
  /** Extra trusted CA certificates (PEM). */
  caCerts?: string[];
  /** Registry host (as named in references) -> base URL to use instead (ECR VPC endpoints, mirrors). */
  endpoints?: Record<string, string>;
  /** Retries after the first attempt. */
  retries: number;
  /** The run's deadline. */
  signal?: AbortSignal;
  /** Verbose log sink, if verbose. */
  log?: Logger;
  /** Told of every secret learnt, so the CLI can redact it from anything it prints. */
  onSecret?: (secret: string) => void;
  /** Backoff randomness (tests). */
  random?: () => number;
  /** How retries wait (tests). */
  sleep?: Sleep;
  /**
   * Resolves the host names of realms and redirect targets, which must not lead to link-local addresses
   * (default: the system's DNS).
   */
  resolveHost?: HostResolver;
}

/** The base URL for a registry under the settings. */
export function baseUrlFor(registry: string, s: Pick<RegistrySettings, "plainHttp" | "endpoints">): string {
  const key = registry.toLowerCase();
  // Own entries only: a registry named `Constructor` must not find Object.prototype.constructor.
  const mapped = s.endpoints && Object.hasOwn(s.endpoints, key) ? s.endpoints[key] : undefined;
  if (typeof mapped === "string" && mapped) return mapped;
  return `${s.plainHttp ? "http" : "https"}://${apiHost(registry)}`;
}

/**
 * Open the registry that `ref` names. The source holds a connection pool: dispose of it (`await using`).
 *
 * @example
 * ```ts
 * await using source = openRegistry(parseReference("alpine"), "alpine", { retries: 3 });
 * const top = await source.manifest();
 * ```
 */
export function openRegistry(
  ref: Reference,
  input: string,
  s: RegistrySettings,
): RegistrySource {
  const userAgent = `${TOOL_NAME}/${VERSION}`;
  const base = baseFetcher({ userAgent, caCerts: s.caCerts, signal: s.signal });
  const logged = s.log ? withLogging(base, s.log) : base;
  const resolve = s.resolveHost ?? dnsResolver;
  const transport = withRedirects(
    withRetry(logged, { retries: s.retries, signal: s.signal, log: s.log, random: s.random, sleep: s.sleep }),
    { resolve, signal: s.signal },
  );
  const fetcher = withAuth(transport, {
    registry: ref.registry,
    preemptiveBasic: parseEcrHost(ref.registry) !== undefined,
    clientId: TOOL_NAME,
    tokenFetcher: transport,
    resolve,
    signal: s.signal,
    log: s.log,
    onSecret: s.onSecret,
    credentials: async (refresh) => {
      const found = await lookupCredentials(ref.registry, ref.repository, {
        ...s.credentials,
        refresh,
        log: s.log,
        signal: s.signal,
      });
      for (const secret of secretsOf(found.credential)) s.onSecret?.(secret);
      s.log?.(
        found.credential
          ? `auth: using ${found.credential.source}`
          : `auth: no credentials for ${ref.registry} (looked in: ${found.searched.join(", ") || "nowhere"})`,
      );
      return found;
    },
  });
  return new RegistrySource(ref, { baseUrl: baseUrlFor(ref.registry, s) }, fetcher, input, {
    signal: s.signal,
    log: s.log,
    dispose: () => base.close(),
  });
}
