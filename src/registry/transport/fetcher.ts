/**
 * The transport's one shape: a Fetcher takes a Request and gives a Response. Every HTTP concern (logging,
 * retries, redirects, auth) is a function from a Fetcher to a Fetcher, composed in `src/registry/mod.ts`.
 *
 * @module
 */

import { ConfigError, NetworkError, TimeoutError, ToolError } from "../../errors.ts";

/** A function that performs one HTTP exchange. */
export type Fetcher = (req: Request) => Promise<Response>;

/** Options of the innermost fetcher. */
export interface BaseFetchOptions {
  /** Extra trusted CA certificates (PEM text). */
  caCerts?: string[];
  /** Aborts every request when the run's deadline passes. */
  signal?: AbortSignal;
  /** User-Agent header value. */
  userAgent: string;
}

/**
 * The innermost fetcher: the runtime's fetch, redirects left to the caller (`redirect: "manual"`), extra CAs,
 * the run's deadline, and runtime failures turned into one-line {@link NetworkError}s.
 *
 * @example
 * ```ts
 * const f = baseFetcher({ userAgent: "x/1", signal: AbortSignal.timeout(30_000) });
 * const res = await f(new Request("https://registry.example/v2/"));
 * ```
 */
export function baseFetcher(opts: BaseFetchOptions): Fetcher & { close(): void } {
  let client: Deno.HttpClient | undefined;
  try {
    client = opts.caCerts?.length ? Deno.createHttpClient({ caCerts: opts.caCerts }) : undefined;
  } catch (err) {
    throw new ConfigError(`a CA file holds a certificate that cannot be used: ${(err as Error).message}`, {
      hint: "pass PEM certificates (-----BEGIN CERTIFICATE-----) only",
    });
  }
  const f = async (req: Request): Promise<Response> => {
    const headers = new Headers(req.headers);
    if (!headers.has("user-agent")) headers.set("user-agent", opts.userAgent);
    const init: RequestInit & { client?: Deno.HttpClient } = {
      method: req.method,
      headers,
      redirect: "manual",
      signal: opts.signal,
    };
    if (req.body) init.body = await req.arrayBuffer();
    if (client) init.client = client;
    try {
      return await fetch(req.url, init);
    } catch (err) {
      throw networkError(err, req.url, opts.signal);
    }
  };
  return Object.assign(f, { close: () => client?.close() });
}

/** Translate whatever fetch (or a body read) threw into a typed, one-line error that names what to try. */
export function networkError(err: unknown, url: string, signal?: AbortSignal): Error {
  if (err instanceof ToolError) return err;
  const origin = safeOrigin(url);
  if (
    signal?.aborted ||
    (err instanceof DOMException && (err.name === "TimeoutError" || err.name === "AbortError"))
  ) {
    return new TimeoutError(`timed out talking to ${origin}`, {
      hint: "the registry did not answer in time; allow more time or check the network",
      advice: "timeout",
    });
  }
  const text = causeText(err);
  if (/corrupt message|InvalidContentType|wrong version number|http request to an https server/i.test(text)) {
    return new NetworkError(`${origin} does not speak TLS`, {
      hint: "the registry serves plain HTTP; ask for plain HTTP",
      advice: "plain-http",
      failure: "protocol",
    });
  }
  if (/CaUsedAsEndEntity/i.test(text)) {
    return new NetworkError(
      `TLS failure talking to ${origin}: the server's certificate is a CA certificate (basicConstraints ` +
        `CA:TRUE) used as a server certificate, which TLS clients refuse`,
      {
        hint: "issue the server a leaf certificate signed by that CA and trust the CA",
        advice: "ca-as-server",
        failure: "tls",
      },
    );
  }
  if (/certificate|tls|ssl|handshake/i.test(text)) {
    return new NetworkError(`TLS failure talking to ${origin}: ${shorten(text)}`, {
      hint: "if the registry uses a private CA, trust that CA's certificate",
      advice: "ca-file",
      failure: "tls",
    });
  }
  if (/dns error|lookup address|name or service not known|no such host|nodename nor servname/i.test(text)) {
    return new NetworkError(`cannot resolve the registry host of ${origin}`, {
      hint: "check the image reference's host name and your DNS/network",
      failure: "dns",
    });
  }
  if (/connection refused|ECONNREFUSED/i.test(text)) {
    return new NetworkError(`connection refused by ${origin}`, {
      hint: "check the host and port, and whether the registry speaks plain HTTP",
      failure: "refused",
    });
  }
  // "error reading a body from connection" is what Deno says (and all it says) when a body breaks off mid-way,
  // e.g. the connection closed before Content-Length bytes arrived.
  if (/reset|broken pipe|unexpected eof|connection closed|incomplete|error reading a body/i.test(text)) {
    return new NetworkError(`connection to ${origin} was interrupted: ${shorten(text)}`, {
      hint: "try again; if it persists, check proxies between you and the registry",
      failure: "interrupted",
    });
  }
  return new NetworkError(`request to ${origin} failed: ${shorten(text)}`, {
    hint: "check the registry address and the network",
  });
}

function causeText(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let i = 0; i < 5 && e; i++) {
    if (e instanceof Error) {
      parts.push(e.message);
      e = e.cause;
    } else {
      parts.push(String(e));
      break;
    }
  }
  return parts.join(": ");
}

function shorten(text: string): string {
  // The runtime repeats the URL in its messages; it may carry a presigned query, so drop it.
  const cleaned = text.replace(/error sending request for url \([^)]*\):?\s*/g, "").replace(
    /https?:\/\/\S+/g,
    "<url>",
  )
    .replace(/\s+/g, " ").trim();
  return cleaned.length > 200 ? `${cleaned.slice(0, 197)}...` : cleaned;
}

/** `scheme://host[:port]` of a URL, without path or query (which may hold signatures). */
export function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "<invalid url>";
  }
}
