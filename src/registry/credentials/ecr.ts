/**
 * Native ECR credentials: `GetAuthorizationToken` through `@aws-sdk/client-ecr` with the SDK's default
 * credential chain, sent to the registry as Basic `AWS:<password>`. The SDK is imported only here, only when
 * an ECR host is contacted and no cached token is valid.
 *
 * Tokens live 12 hours. They are reused for the life of the process and, unless disabled, cached on disk
 * (mode 0600, one file per account + region + credential source, honouring `expiresAt`), which saves the AWS
 * API round trip on every invocation after the first. A cache file is a credential someone could plant, so it
 * is trusted only as the user's own regular file (not a symlink, not group/other-accessible) in the user's
 * own directory that no one else can write to, and for no longer than ECR's 12 hours from when it was
 * written.
 *
 * @module
 */

import { digestOf } from "../../digest.ts";
import { AuthError, TimeoutError, TooLargeError } from "../../errors.ts";
import { readLocalFile } from "../../files.ts";
import type { EcrHost } from "../ecr.ts";
import {
  boundedDefaultChain,
  cappedRequestHandler,
  type ContainerCredentialSettings,
  MAX_API_BYTES,
} from "./aws.ts";
import type { Credential } from "./types.ts";

/** How ECR tokens are obtained and cached: settings the caller derives (the CLI, from its environment). */
export interface EcrSettings {
  /** The ECR API region, when it is not the one in the host name. */
  region?: string;
  /** Directory of the on-disk token cache; undefined disables it. */
  cacheDir?: string;
  /**
   * Who the AWS SDK will resolve credentials as (access key id, profile, role, credential source), as text:
   * it keys the token cache, so another identity never reuses this one's token. Never a secret.
   */
  identity?: string;
  /**
   * An ECR API endpoint is configured for the SDK (`AWS_ENDPOINT_URL_ECR`): it wins over the FIPS and
   * dual-stack endpoint variants the host name implies, which the SDK refuses to combine with it.
   */
  endpointConfigured?: boolean;
  /**
   * The container credentials endpoint, when the environment names one (CodeBuild, ECS, EKS Pod Identity):
   * the SDK's chain then ends in a bounded provider for it instead of the SDK's own (see `aws.ts`).
   */
  container?: ContainerCredentialSettings;
  /** The AWS profile named (`AWS_PROFILE`): the SDK's chain then skips environment keys, and so does ours. */
  profile?: string;
  /**
   * The user id the cache must belong to (the CLI knows it); when absent, `Deno.uid()` if the platform and
   * the permissions tell it. Unknown: the cache is written but never read.
   */
  uid?: number | null;
}

/** What ECR credentials depend on. */
export interface EcrOptions extends EcrSettings {
  host: EcrHost;
  log?: (line: string) => void;
  now?: () => number;
  /** The run's deadline. */
  signal?: AbortSignal;
  /** Skip the cached token (the registry rejected it); a fresh one still replaces it in the cache. */
  refresh?: boolean;
  /** How the token is fetched (default: `GetAuthorizationToken` through the AWS SDK); a stand-in in tests. */
  getAuthorizationToken?: (region: string, opts: EcrOptions) => Promise<AuthorizationData | undefined>;
}

interface CachedToken {
  username: string;
  password: string;
  expiresAt: number;
  /** When the token was fetched (ms): its expiry is believed up to {@link TOKEN_LIFETIME_MS} after that. */
  writtenAt: number;
}

/** Renew this long before expiry so a token never expires mid-run. */
const EXPIRY_MARGIN_MS = 5 * 60 * 1000;
/** How long ECR's authorization tokens are valid: no cached expiry is believed beyond this. */
const TOKEN_LIFETIME_MS = 12 * 3600 * 1000;
/** Clock skew tolerated on `writtenAt` (a file written "in the future" is not trusted). */
const SKEW_MS = 5 * 60 * 1000;
/** Largest cache file read. */
const MAX_CACHE_BYTES = 64 * 1024;

/**
 * The cache file name for a registry and the identity that asks (a hash: the file name reveals no identity).
 */
export async function ecrCacheKey(host: EcrHost, region: string, identity: string): Promise<string> {
  const text = `${host.accountId}\n${region}\n${host.fips}\n${host.dualStack}\n${identity}\n`;
  const hex = (await digestOf(new TextEncoder().encode(text))).slice("sha256:".length);
  return `ecr-${host.accountId}-${region}-${hex.slice(0, 32)}.json`;
}

/** The user id, when the platform has one and the permission to ask is granted. */
function currentUid(given: number | null | undefined): number | null {
  if (given !== undefined) return given;
  try {
    return Deno.uid();
  } catch {
    return null;
  }
}

/** Whether `dir` is the user's own directory that no one else can write to (lstat: not a symlink). */
async function trustedDir(dir: string, uid: number): Promise<boolean> {
  const info = await Deno.lstat(dir).catch(() => undefined);
  return info !== undefined && info.isDirectory && info.uid === uid && info.mode !== null &&
    (info.mode & 0o022) === 0;
}

/**
 * The cached token at `path`, if it can be trusted: a regular file (lstat: not a symlink, not a FIFO), the
 * user's, mode 0600 or narrower, in a directory of the user's that no one else can write to; well-formed;
 * written no later than now and not more than ECR's token lifetime ago.
 */
async function readCache(
  dir: string,
  path: string,
  now: number,
  uid: number | null,
): Promise<CachedToken | undefined> {
  if (uid === null || !(await trustedDir(dir, uid))) return undefined;
  try {
    const { bytes, info } = await readLocalFile(path, {
      max: MAX_CACHE_BYTES,
      what: "ECR token cache",
      noFollow: true,
    });
    if (info.uid !== uid || info.mode === null || (info.mode & 0o077) !== 0) return undefined;
    const t = JSON.parse(new TextDecoder().decode(bytes)) as Partial<CachedToken>;
    if (
      typeof t?.username !== "string" || typeof t.password !== "string" ||
      typeof t.expiresAt !== "number" || typeof t.writtenAt !== "number"
    ) {
      return undefined;
    }
    if (t.writtenAt > now + SKEW_MS) return undefined;
    const expiresAt = Math.min(t.expiresAt, t.writtenAt + TOKEN_LIFETIME_MS);
    return expiresAt - EXPIRY_MARGIN_MS > now ? { ...t, expiresAt } as CachedToken : undefined;
  } catch {
    return undefined;
  }
}

/** Write the cache file (0600, atomically), unless the directory is not one the cache may live in. */
async function writeCache(dir: string, path: string, token: CachedToken, uid: number | null): Promise<void> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  if (uid !== null && !(await trustedDir(dir, uid))) {
    throw new Error(`${dir} is not a directory of this user's that only it can write to`);
  }
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.writeTextFile(tmp, JSON.stringify(token), { mode: 0o600, createNew: true });
    await Deno.chmod(tmp, 0o600);
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}

/**
 * Get the Basic credential for an ECR registry: from the disk cache when valid, else from
 * `GetAuthorizationToken`.
 *
 * @example
 * ```ts
 * const cred = await ecrCredential({ host: parseEcrHost(h)!, identity: "env:AKIDEXAMPLE" });
 * ```
 */
export async function ecrCredential(opts: EcrOptions): Promise<Credential> {
  const now = opts.now ?? Date.now;
  const region = opts.region ?? opts.host.region;
  const source = `ECR GetAuthorizationToken (account ${opts.host.accountId}, region ${region})`;
  const cachePath = opts.cacheDir
    ? `${opts.cacheDir}/${await ecrCacheKey(opts.host, region, opts.identity ?? "")}`
    : undefined;
  const uid = currentUid(opts.uid);
  if (opts.cacheDir && cachePath && !opts.refresh) {
    const cached = await readCache(opts.cacheDir, cachePath, now(), uid);
    if (cached) {
      opts.log?.(
        `ecr: using the cached authorization token (expires ${new Date(cached.expiresAt).toISOString()})`,
      );
      return {
        kind: "basic",
        username: cached.username,
        password: cached.password,
        source: `${source}, cached`,
        cached: true,
      };
    }
  }
  opts.log?.(`ecr: calling GetAuthorizationToken in ${region}`);
  const data = await (opts.getAuthorizationToken ?? sdkAuthorizationToken)(region, opts);
  const token = data?.authorizationToken;
  if (!token) throw new AuthError(`ECR GetAuthorizationToken in ${region} returned no token`);
  let decoded: string;
  try {
    decoded = new TextDecoder().decode(Uint8Array.from(atob(token), (c) => c.charCodeAt(0)));
  } catch {
    throw new AuthError("ECR returned an authorization token that is not base64");
  }
  const colon = decoded.indexOf(":");
  if (colon < 0) throw new AuthError("ECR returned an authorization token that is not user:password");
  const writtenAt = now();
  const cred: CachedToken = {
    username: decoded.slice(0, colon),
    password: decoded.slice(colon + 1),
    expiresAt: Math.min(
      data?.expiresAt ? new Date(data.expiresAt).getTime() : Infinity,
      writtenAt + TOKEN_LIFETIME_MS,
    ),
    writtenAt,
  };
  if (opts.cacheDir && cachePath) {
    await writeCache(opts.cacheDir, cachePath, cred, uid).catch((err) =>
      opts.log?.(`ecr: could not write the token cache: ${(err as Error).message.split("\n")[0]}`)
    );
  }
  return { kind: "basic", username: cred.username, password: cred.password, source };
}

/** An ECR authorization token as `GetAuthorizationToken` returns it. */
export interface AuthorizationData {
  /** base64 of `user:password`. */
  authorizationToken?: string;
  expiresAt?: Date;
}

/** `GetAuthorizationToken` through the AWS SDK, within the deadline and caps of `aws.ts`. */
async function sdkAuthorizationToken(
  region: string,
  opts: EcrOptions,
): Promise<AuthorizationData | undefined> {
  const { ECRClient, GetAuthorizationTokenCommand } = await import("@aws-sdk/client-ecr");
  // A configured endpoint (a VPC endpoint, a test stand-in) is where the API is; the SDK refuses FIPS or
  // dual-stack variants together with it.
  const variants = opts.endpointConfigured ? {} : {
    useFipsEndpoint: opts.host.fips || undefined,
    useDualstackEndpoint: opts.host.dualStack || undefined,
  };
  const container = opts.container;
  const client = new ECRClient({
    region,
    ...variants,
    // fetch, held to the deadline, reading at most MAX_API_BYTES of an answer.
    requestHandler: cappedRequestHandler({ signal: opts.signal, maxBytes: MAX_API_BYTES }),
    ...(container && {
      credentialDefaultProvider: (init: Record<string, unknown>) =>
        boundedDefaultChain(init, { container, profile: opts.profile }, opts.signal),
    }),
  });
  try {
    // The SDK resolves credentials outside the abort signal it is given, so the deadline is raced as well.
    const out = await beforeDeadline(
      client.send(new GetAuthorizationTokenCommand({ registryIds: [opts.host.accountId] }), {
        abortSignal: opts.signal,
      }),
      opts.signal,
    );
    return out.authorizationData?.[0];
  } catch (err) {
    // Already one line that says what and where: a capped answer, the container endpoint's refusal.
    if (err instanceof TooLargeError || err instanceof AuthError) throw err;
    if (opts.signal?.aborted) {
      throw new TimeoutError(`ECR GetAuthorizationToken in ${region} did not answer before the deadline`, {
        hint: "check the network path to the ECR API, or allow more time",
        advice: "timeout",
      });
    }
    const e = err as { name?: string; message?: string };
    throw new AuthError(
      `ECR GetAuthorizationToken failed in ${region}: ${e.name ?? "Error"}: ${
        (e.message ?? "").split("\n")[0].slice(0, 200)
      }`,
      {
        hint:
          "check the AWS credentials (environment, profile, instance or container role) and ecr:GetAuthorizationToken permission",
      },
    );
  } finally {
    client.destroy();
  }
}

/** `p`, or the signal's reason once it aborts, whichever comes first. */
function beforeDeadline<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
