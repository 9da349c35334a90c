/**
 * Opening a registry: compose the transport (auth -> redirects -> retries -> logging -> fetch) and return an
 * {@link ImageSource} for one reference.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import { apiHost, type Reference } from "../reference.ts";
import { TOOL_NAME, VERSION } from "../version.ts";
import { RegistrySource } from "./client.ts";
import { parseEcrHost } from "./ecr.ts";
import { lookupCredentials } from "./credentials/mod.ts";
import { secretsOf } from "./credentials/types.ts";
import { withAuth } from "./transport/auth.ts";
import { baseFetcher } from "./transport/fetcher.ts";
import { type Logger, withLogging } from "./transport/log.ts";
import { withRedirects } from "./transport/redirect.ts";
import { withRetry } from "./transport/retry.ts";

/** Everything that decides how a registry is reached. */
export interface RegistrySettings {
  env: Record<string, string | undefined>;
  /** Talk HTTP instead of HTTPS. */
  plainHttp?: boolean;
  /** Extra trusted CA certificates (PEM). */
  caCerts?: string[];
  /** Registry host (as named in references) -> base URL to use instead (`--registry-endpoint`). */
  endpoints?: Record<string, string>;
  /** Retries after the first attempt. */
  retries: number;
  /** The run's deadline. */
  signal?: AbortSignal;
  /** `--region` for ECR. */
  region?: string;
  /** ECR token cache directory, undefined disables it. */
  ecrCacheDir?: string;
  /** Verbose log sink, if verbose. */
  log?: Logger;
  /** Told of every secret learnt, so the CLI can redact it from anything it prints. */
  onSecret?: (secret: string) => void;
  /** Backoff randomness (tests). */
  random?: () => number;
}

/**
 * Parse `HOST=URL` endpoint mappings.
 *
 * @example
 * ```ts
 * parseEndpoints(["123456789012.dkr.ecr.us-east-1.amazonaws.com=https://vpce-1.example:443"]);
 * ```
 */
export function parseEndpoints(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf("=");
    const host = eq > 0 ? v.slice(0, eq).trim().toLowerCase() : "";
    const url = eq > 0 ? v.slice(eq + 1).trim() : "";
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (!host || !parsed || (parsed.protocol !== "https:" && parsed.protocol !== "http:") || parsed.search) {
      throw new UsageError(`invalid --registry-endpoint "${v.slice(0, 100)}"`, {
        hint: "use HOST=URL, for example 123456789012.dkr.ecr.us-east-1.amazonaws.com=https://127.0.0.1:5000",
      });
    }
    out[host] = parsed.origin + parsed.pathname.replace(/\/+$/, "");
  }
  return out;
}

/** The base URL for a registry under the settings. */
export function baseUrlFor(registry: string, s: Pick<RegistrySettings, "plainHttp" | "endpoints">): string {
  const mapped = s.endpoints?.[registry.toLowerCase()];
  if (mapped) return mapped;
  return `${s.plainHttp ? "http" : "https"}://${apiHost(registry)}`;
}

/**
 * Open the registry that `ref` names.
 *
 * @example
 * ```ts
 * const source = openRegistry(parseReference("alpine"), "alpine", { env: Deno.env.toObject(), retries: 3 });
 * ```
 */
export function openRegistry(
  ref: Reference,
  input: string,
  s: RegistrySettings,
): RegistrySource & { close(): void } {
  const userAgent = `${TOOL_NAME}/${VERSION}`;
  const base = baseFetcher({ userAgent, caCerts: s.caCerts, signal: s.signal });
  const logged = s.log ? withLogging(base, s.log) : base;
  const transport = withRedirects(
    withRetry(logged, { retries: s.retries, signal: s.signal, log: s.log, random: s.random }),
  );
  const fetcher = withAuth(transport, {
    registry: ref.registry,
    preemptiveBasic: parseEcrHost(ref.registry) !== undefined,
    clientId: TOOL_NAME,
    tokenFetcher: transport,
    log: s.log,
    onSecret: s.onSecret,
    credentials: async (refresh) => {
      const found = await lookupCredentials(ref.registry, ref.repository, {
        refresh,
        env: s.env,
        region: s.region,
        ecrCacheDir: s.ecrCacheDir,
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
  const source = new RegistrySource(
    ref,
    { baseUrl: baseUrlFor(ref.registry, s) },
    fetcher,
    input,
    s.signal,
    s.log,
  );
  return Object.assign(source, { close: () => base.close() });
}
