/**
 * The AWS SDK's I/O, held to the run's deadline and to size caps. The SDK alone reads whatever a server sends
 * (its HTTP handler and its credential providers buffer bodies without a limit), and it resolves credentials
 * outside the abort signal a command is sent with. So the ECR client gets:
 *
 * - a request handler on `fetch` that aborts at the deadline and stops reading at {@link MAX_API_BYTES};
 * - when container credentials are configured (CodeBuild, ECS, EKS Pod Identity), the SDK's default
 *   credential chain with its last link, the container credentials endpoint, replaced by a bounded one
 *   ({@link containerCredentials}); the links before it (environment, profile files, credential process, web
 *   identity) are the SDK's own, in the SDK's order.
 *
 * Which endpoint and token the container link uses is the caller's decision (the CLI reads the SDK's standard
 * variables); this module reads no environment.
 *
 * @module
 */

import { AuthError, NetworkError, TimeoutError, TooLargeError, ToolError } from "../../errors.ts";
import { readLocalFile } from "../../files.ts";
import { readCapped } from "../transport/body.ts";
import { safeOrigin } from "../transport/fetcher.ts";

/** Largest ECR API answer read (GetAuthorizationToken answers are a few KiB). */
export const MAX_API_BYTES = 1024 * 1024;
/** Largest container credentials answer read (a few hundred bytes in practice). */
export const MAX_CREDENTIALS_BYTES = 64 * 1024;
/** Largest authorization token file read. */
const MAX_TOKEN_FILE_BYTES = 16 * 1024;
/** One attempt at the container credentials endpoint; the SDK allows 1 s, a loaded host needs more. */
const ATTEMPT_MS = 5000;
/** Attempts at the container credentials endpoint (the SDK makes four, a second apart). */
const ATTEMPTS = 3;

/** Where container credentials come from (the SDK's `AWS_CONTAINER_*` variables, resolved by the caller). */
export interface ContainerCredentialSettings {
  /** The endpoint: `AWS_CONTAINER_CREDENTIALS_FULL_URI`, or `http://169.254.170.2` + the relative URI. */
  url: string;
  /** The `Authorization` value (`AWS_CONTAINER_AUTHORIZATION_TOKEN`). */
  authorizationToken?: string;
  /** A file holding it, read on each call; wins over `authorizationToken` as in the SDK. */
  authorizationTokenFile?: string;
}

/** Credentials as the SDK takes them. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
  accountId?: string;
}

/** The parts of the SDK's `HttpRequest` the handler reads. */
interface SdkRequest {
  method: string;
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
  query?: Record<string, string | string[] | null>;
  headers: Record<string, string>;
  body?: unknown;
}

/** An SDK request handler (`@smithy/protocol-http`'s HttpHandler, structurally). */
export interface SdkRequestHandler {
  handle(request: SdkRequest, options?: { abortSignal?: unknown }): Promise<{
    response: { statusCode: number; reason?: string; headers: Record<string, string>; body: Uint8Array };
  }>;
  updateHttpClientConfig(key: never, value: never): void;
  httpHandlerConfigs(): Record<string, never>;
  destroy(): void;
}

/** RFC 3986 percent-encoding, as SigV4 signs the query. */
function escape(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function urlOf(req: SdkRequest): string {
  const pairs: string[] = [];
  for (const [k, v] of Object.entries(req.query ?? {})) {
    if (v === null) pairs.push(escape(k));
    else for (const one of Array.isArray(v) ? v : [v]) pairs.push(`${escape(k)}=${escape(one)}`);
  }
  const port = req.port ? `:${req.port}` : "";
  return `${req.protocol}//${req.hostname}${port}${req.path}${pairs.length ? `?${pairs.join("&")}` : ""}`;
}

/**
 * A request handler for an SDK client: `fetch`, aborted when `signal` (the run's deadline) or the SDK's own
 * signal fires, the answer read up to `maxBytes` and refused beyond.
 *
 * @example
 * ```ts
 * const requestHandler = cappedRequestHandler({ signal, maxBytes: MAX_API_BYTES });
 * const client = new ECRClient({ region, requestHandler });
 * ```
 */
export function cappedRequestHandler(opts: { signal?: AbortSignal; maxBytes: number }): SdkRequestHandler {
  return {
    async handle(request, options) {
      const url = urlOf(request);
      // The SDK's signal is the one the command was sent with (typed as the SDK's own AbortSignal interface).
      const signals = [opts.signal, options?.abortSignal].filter((s): s is AbortSignal =>
        s instanceof AbortSignal
      );
      const signal = signals.length ? AbortSignal.any(signals) : undefined;
      const headers = new Headers();
      // fetch sets Host and Content-Length itself, to the same values the request was signed with.
      for (const [k, v] of Object.entries(request.headers)) {
        if (!["host", "content-length"].includes(k.toLowerCase())) headers.set(k, v);
      }
      const body = typeof request.body === "string" || request.body instanceof Uint8Array
        ? request.body as BodyInit
        : undefined;
      let res: Response;
      try {
        res = await fetch(url, { method: request.method, headers, body, signal, redirect: "manual" });
      } catch (err) {
        throw failure(err, url, "the AWS API", opts.signal);
      }
      let bytes: Uint8Array;
      try {
        bytes = await readCapped(res, opts.maxBytes, "AWS API answer");
      } catch (err) {
        if (err instanceof TooLargeError) {
          throw new TooLargeError(
            `the AWS API at ${safeOrigin(url)} answered with more than ${opts.maxBytes / 1024 / 1024} MiB`,
            { hint: "check the ECR API endpoint the AWS SDK is configured with" },
          );
        }
        throw failure(err, url, "the AWS API", opts.signal);
      }
      const out: Record<string, string> = {};
      res.headers.forEach((v, k) => out[k] = v);
      return { response: { statusCode: res.status, reason: res.statusText, headers: out, body: bytes } };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
    destroy() {},
  };
}

function failure(err: unknown, url: string, what: string, deadline?: AbortSignal): Error {
  if (err instanceof ToolError) return err;
  if (deadline?.aborted) {
    return new TimeoutError(`${what} at ${safeOrigin(url)} did not answer before the deadline`, {
      hint: "check the network path to it, or allow more time",
      advice: "timeout",
    });
  }
  const text = err instanceof Error ? err.message : String(err);
  return new NetworkError(
    `request to ${what} at ${safeOrigin(url)} failed: ${text.split("\n")[0].slice(0, 160)}`,
  );
}

/** Hosts a plain-HTTP container credentials endpoint may be on (the SDK's rule): loopback, ECS, EKS. */
function allowedEndpoint(url: URL): boolean {
  if (url.protocol === "https:") return true;
  if (url.protocol !== "http:") return false;
  const h = url.hostname;
  return h === "localhost" || h === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(h) ||
    ["169.254.170.2", "169.254.170.23", "[fd00:ec2::23]"].includes(h);
}

/**
 * Credentials from the container credentials endpoint (ECS task roles, CodeBuild service roles, EKS Pod
 * Identity), bounded: each attempt ends after a few seconds and at the deadline, the answer is read up to
 * {@link MAX_CREDENTIALS_BYTES}, redirects are not followed, and the authorization token must be a header
 * value.
 *
 * @example
 * ```ts
 * const creds = await containerCredentials({ url: "http://169.254.170.2/v2/credentials/abc" }, { signal });
 * ```
 */
export async function containerCredentials(
  s: ContainerCredentialSettings,
  opts: { signal?: AbortSignal; sleep?: (ms: number) => Promise<void> } = {},
): Promise<AwsCredentials> {
  let url: URL;
  try {
    url = new URL(s.url);
  } catch {
    throw new AuthError("the container credentials endpoint is not a valid URL");
  }
  const origin = url.origin;
  if (!allowedEndpoint(url)) {
    throw new AuthError(
      `the container credentials endpoint ${origin} is neither https nor a loopback, ECS or EKS host`,
    );
  }
  let token = s.authorizationToken;
  if (s.authorizationTokenFile) {
    const { bytes } = await readLocalFile(s.authorizationTokenFile, {
      max: MAX_TOKEN_FILE_BYTES,
      what: "container authorization token file",
    });
    token = new TextDecoder().decode(bytes).trim();
  }
  if (token !== undefined && !/^[\x20-\x7e]*$/.test(token)) {
    throw new AuthError("the container authorization token is not a valid header value (line breaks?)");
  }
  const what = `the container credentials endpoint ${origin}`;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let last: Error | undefined;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    if (opts.signal?.aborted) break;
    if (attempt > 1) await sleep(1000);
    const limit = AbortSignal.timeout(ATTEMPT_MS);
    const signal = opts.signal ? AbortSignal.any([opts.signal, limit]) : limit;
    let res: Response;
    try {
      res = await fetch(url, {
        headers: token ? { authorization: token } : {},
        redirect: "manual",
        signal,
      });
    } catch (err) {
      last = failure(err, url.href, "the container credentials endpoint", opts.signal);
      continue;
    }
    let bytes: Uint8Array;
    try {
      bytes = await readCapped(res, MAX_CREDENTIALS_BYTES, "container credentials");
    } catch (err) {
      if (err instanceof TooLargeError) {
        throw new TooLargeError(`${what} answered with more than ${MAX_CREDENTIALS_BYTES / 1024} KiB`, {
          hint: "check the container credentials endpoint the environment names",
        });
      }
      last = failure(err, url.href, "the container credentials endpoint", opts.signal);
      continue;
    }
    if (res.status >= 500) {
      last = new AuthError(`${what} answered ${res.status}`);
      continue;
    }
    if (res.status !== 200) throw new AuthError(`${what} answered ${res.status}`);
    return parseCredentials(bytes, what);
  }
  if (opts.signal?.aborted) {
    throw new TimeoutError(`${what} did not answer before the deadline`, {
      hint: "check the container's credentials endpoint, or allow more time",
      advice: "timeout",
    });
  }
  throw last ?? new AuthError(`${what} did not answer`);
}

function parseCredentials(bytes: Uint8Array, what: string): AwsCredentials {
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new AuthError(`${what} answered with something that is not JSON`);
  }
  const b = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
  const str = (k: string) => Object.hasOwn(b, k) && typeof b[k] === "string" ? b[k] as string : undefined;
  const [accessKeyId, secretAccessKey, sessionToken, expiration] = [
    str("AccessKeyId"),
    str("SecretAccessKey"),
    str("Token"),
    str("Expiration"),
  ];
  if (
    !accessKeyId || !secretAccessKey || !sessionToken || !expiration || Number.isNaN(Date.parse(expiration))
  ) {
    throw new AuthError(`${what} answered without AccessKeyId, SecretAccessKey, Token and Expiration`);
  }
  const creds: AwsCredentials = {
    accessKeyId,
    secretAccessKey,
    sessionToken,
    expiration: new Date(expiration),
  };
  const accountId = str("AccountId");
  if (accountId) creds.accountId = accountId;
  return creds;
}

/** A credential provider as the SDK calls it. */
type Provider = (props?: Record<string, unknown>) => Promise<AwsCredentials>;

/**
 * The SDK's default credential chain (`@aws-sdk/credential-provider-node`'s `defaultProvider`) with the
 * container link bounded: environment keys (skipped when a profile is named, as the SDK does), profile files,
 * credential process, web identity token file, then {@link containerCredentials}. `init` is what the SDK
 * hands a `credentialDefaultProvider` (the client's configuration). SSO is reached through profiles, as in
 * the SDK's chain when no SSO settings are passed.
 *
 * @example
 * ```ts
 * new ECRClient({
 *   region,
 *   credentialDefaultProvider: (init: Record<string, unknown>) => boundedDefaultChain(init, s, signal),
 * });
 * ```
 */
export function boundedDefaultChain(
  init: Record<string, unknown>,
  s: { container: ContainerCredentialSettings; profile?: string },
  signal?: AbortSignal,
): Provider {
  const links: Provider[] = [
    async () => {
      if (init.profile ?? s.profile) throw skip("a profile is named; environment keys are not used");
      const { fromEnv } = await import("@aws-sdk/credential-provider-env");
      return await fromEnv(init)();
    },
    async (props) => {
      const { fromIni } = await import("@aws-sdk/credential-provider-ini");
      return await fromIni(init)(props);
    },
    async (props) => {
      const { fromProcess } = await import("@aws-sdk/credential-provider-process");
      return await fromProcess(init)(props);
    },
    async (props) => {
      const { fromTokenFile } = await import("@aws-sdk/credential-provider-web-identity");
      return await fromTokenFile(init)(props);
    },
    () => containerCredentials(s.container, { signal }),
  ];
  let memo: Promise<AwsCredentials> | undefined;
  return (props) =>
    memo ??= (async () => {
      for (const link of links) {
        try {
          return await link(props);
        } catch (err) {
          // The SDK's links say "not configured here, try the next one" with tryNextLink.
          if ((err as { tryNextLink?: boolean })?.tryNextLink) continue;
          throw err;
        }
      }
      throw new AuthError("no AWS credentials found");
    })();
}

function skip(message: string): Error {
  return Object.assign(new Error(message), { tryNextLink: true });
}
