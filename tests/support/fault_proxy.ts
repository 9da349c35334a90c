/**
 * A fault-injecting HTTP/1.1 proxy in front of a real test registry, for reliability tests of the CLI.
 *
 * It is a hand-written HTTP/1.1 server on raw TCP (`Deno.listen`, optionally also `Deno.listenTls` with a
 * fresh test CA), so it can do what a well-behaved server cannot: close a connection half-way through a body,
 * declare one `Content-Length` and send fewer bytes, send headers and then stall, stream an endless chunked
 * body and notice when the client hangs up. Every answer carries `Connection: close`, so each request is one
 * connection and one entry in the request log.
 *
 * Scenarios are chosen by the first segment of the repository name: a request for
 * `/v2/<scenario>/<repo>/manifests/<ref>` goes to the handler registered under `<scenario>`, which may
 * forward it to the real registry as `/v2/<repo>/manifests/<ref>` (so the registry serves the real bytes) and
 * then bend the answer. Requests whose first segment names no scenario are forwarded unchanged.
 *
 * Besides the proxy port there is a second origin, `s3Url`, standing in for the presigned-URL storage ECR
 * redirects blob requests to, and a token endpoint `<url>/token/<scenario>` for fake Bearer token services;
 * both hand their requests to the scenario's handler too (kinds `s3` and `token`).
 *
 * @example
 * ```ts
 * await using reg = await startRegistry({ auth: "none" });
 * await using proxy = await startFaultProxy(reg);
 * proxy.scenario("once503", faults.statusTimes(503, 1));
 * const r = await runCli(["get_manifest", "-u", proxy.ref("once503", "test/oci:v1"), "--plain-http"]);
 * await proxy.settled();
 * proxy.requests("once503").length; // 2
 * ```
 *
 * @module
 */

import { makeTestCA } from "./ca.ts";
import type { TestRegistry } from "./registry.ts";

/** What a request was for. */
export type RequestKind = "manifests" | "blobs" | "token" | "s3" | "other";

/** One request the proxy received, with what it did about it (filled in as the answer goes out). */
export interface ProxyRequest {
  /** Scenario name ("" when the path named none). */
  scenario: string;
  /** Which listener took it. */
  listener: "http" | "https" | "s3";
  kind: RequestKind;
  method: string;
  /** Path and query exactly as received. */
  target: string;
  /** The path sent to the registry (`/v2/<repo>/<kind>/<ref>`), for manifests and blobs. */
  upstreamPath?: string;
  /** Repository as the registry knows it (without the scenario segment). */
  repo?: string;
  /** Tag or digest. */
  reference?: string;
  headers: Headers;
  /** Request body (token POSTs). */
  body: Uint8Array;
  /** 1-based number of this request among the scenario's requests of the same kind. */
  n: number;
  /** `performance.now()` when the request head had been read. */
  at: number;
  /** `performance.now()` when the proxy was done with the connection (answered, or the client hung up). */
  endedAt?: number;
  /** Status answered (undefined when nothing was answered: a stall or a drop). */
  status?: number;
  /** Body bytes written to the socket. */
  bodyBytesSent: number;
  /** The client closed the connection before the proxy had finished (or while it was holding it open). */
  clientClosed: boolean;
}

/** An answer for the proxy to send, possibly a broken one. */
export interface FaultReply {
  status: number;
  headers?: HeadersInit;
  body?: Uint8Array;
  /**
   * How the body length is framed: a number is sent as `Content-Length` (it may lie), `"chunked"` uses chunked
   * transfer encoding. Default: the body's real length.
   */
  contentLength?: number | "chunked";
  /** With `"chunked"`, a `Content-Length` header too, which the chunked framing overrides (RFC 9112 6.3). */
  alsoDeclare?: number;
  /** Send only this many body bytes. */
  sendBytes?: number;
  /**
   * After the (partial) body: `"close"` the connection (default; a complete chunked body gets its last chunk),
   * or `"hold"` it open, sending nothing more, until the client hangs up.
   */
  then?: "close" | "hold";
}

/** `"stall"`: accept, read the request, answer nothing until the client gives up. `"drop"`: close at once. */
export type FaultAction = FaultReply | "stall" | "drop";

/** What handlers may use besides the request. */
export interface FaultTools {
  /** Send the request on to the registry (path without the scenario segment) and return its complete answer. */
  forward(req?: ProxyRequest, path?: string): Promise<FaultReply & { headers: Headers; body: Uint8Array }>;
  /** The proxy's base URL on the listener that took the request (`http://127.0.0.1:PORT`). */
  origin: string;
  /** Base URL of the plain HTTP listener. */
  url: string;
  /** Base URL of the TLS listener, if there is one. */
  tlsUrl?: string;
  /** Base URL of the second ("S3") origin. */
  s3Url: string;
}

/** A scenario: decides the answer to every request routed to it. */
export type FaultHandler = (req: ProxyRequest, tools: FaultTools) => FaultAction | Promise<FaultAction>;

/** A running proxy; stop it with `stop()` or `await using`. */
export interface FaultProxy extends AsyncDisposable {
  /** `127.0.0.1:PORT` of the plain HTTP listener. */
  host: string;
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** `127.0.0.1:PORT` of the TLS listener (with `tls: true`). */
  tlsHost?: string;
  /** `https://127.0.0.1:PORT` (with `tls: true`). */
  tlsUrl?: string;
  /** PEM CA certificate file the TLS listener's certificate chains to (with `tls: true`). */
  caCertFile?: string;
  /** Base URL of the second origin (`http://127.0.0.1:OTHERPORT`). */
  s3Url: string;
  /** Register (or replace) a scenario. Names must be one path segment without `:`, `@` or upper case. */
  scenario(name: string, handler: FaultHandler): void;
  /** `HOST/<name>/<repoAndTag>`, a reference the CLI can be given (`tls` for the TLS listener). */
  ref(name: string, repoAndTag: string, tls?: boolean): string;
  /** Requests received, oldest first, for one scenario or all; optionally one kind only. */
  requests(scenario?: string, kind?: RequestKind): ProxyRequest[];
  /** Wait until every connection handled so far has finished (at most `timeoutMs`, default 5000). */
  settled(timeoutMs?: number): Promise<void>;
  /** Close the listeners and every open connection, remove temp files. Idempotent. */
  stop(): Promise<void>;
}

/** Options of {@linkcode startFaultProxy}. */
export interface FaultProxyOptions {
  /** Also listen with TLS (certificate for 127.0.0.1 from a fresh test CA). */
  tls?: boolean;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const CRLF2 = enc.encode("\r\n\r\n");
const HOP_BY_HOP = [
  "connection",
  "keep-alive",
  "transfer-encoding",
  "content-length",
  "te",
  "trailer",
  "upgrade",
];
const REASONS: Record<number, string> = {
  200: "OK",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  408: "Request Timeout",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

const API_PATH = /^\/v2\/([^/]+)\/(.+)\/(manifests|blobs)\/([^/?]+)$/;
const TOKEN_PATH = /^\/token\/([^/?]+)$/;
const S3_PATH = /^\/([^/]+)\/(.+)\/blobs\/([^/?]+)$/;

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

/** Write all of `bytes` to `conn` (a write may take only part of them). */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.byteLength) off += await conn.write(bytes.subarray(off));
}

/** `piece` as one chunk of HTTP/1.1 chunked framing. */
export function chunkFrame(piece: Uint8Array): Uint8Array {
  return concat([enc.encode(`${piece.byteLength.toString(16)}\r\n`), piece, enc.encode("\r\n")]);
}

interface RawRequest {
  method: string;
  target: string;
  headers: Headers;
  body: Uint8Array;
}

/** Read one HTTP/1.1 request (head up to 64 KiB, body by Content-Length up to 1 MiB). */
async function readRequest(conn: Deno.Conn): Promise<RawRequest | undefined> {
  let buf: Uint8Array = new Uint8Array(0);
  const chunk = new Uint8Array(16 * 1024);
  let end = -1;
  while ((end = indexOf(buf, CRLF2)) < 0) {
    if (buf.byteLength > 64 * 1024) return undefined;
    const n = await conn.read(chunk);
    if (n === null) return undefined;
    buf = concat([buf, chunk.slice(0, n)]);
  }
  const lines = dec.decode(buf.subarray(0, end)).split("\r\n");
  const [method, target] = lines[0].split(" ");
  const headers = new Headers();
  for (const line of lines.slice(1)) {
    const i = line.indexOf(":");
    if (i > 0) headers.append(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  let body = buf.subarray(end + 4);
  const length = Math.min(Number(headers.get("content-length") ?? "0") || 0, 1024 * 1024);
  while (body.byteLength < length) {
    const n = await conn.read(chunk);
    if (n === null) break;
    body = concat([body, chunk.slice(0, n)]);
  }
  return { method, target, headers, body: body.slice(0, length) };
}

/** Keep the connection open, reading and discarding, until the client closes it (or it is closed under us). */
async function holdUntilClosed(conn: Deno.Conn): Promise<void> {
  const sink = new Uint8Array(4096);
  try {
    while ((await conn.read(sink)) !== null) {
      // discard
    }
  } catch {
    // reset by the client or closed by stop(): either way, done
  }
}

/**
 * Start the proxy in front of `upstream` (any auth mode; for basic/token registries the client's
 * `Authorization` is passed through).
 */
export async function startFaultProxy(
  upstream: Pick<TestRegistry, "url" | "httpClient">,
  opts: FaultProxyOptions = {},
): Promise<FaultProxy> {
  const scenarios = new Map<string, FaultHandler>();
  const log: ProxyRequest[] = [];
  const inFlight = new Set<Promise<void>>();
  const conns = new Set<Deno.Conn>();
  let stopped = false;
  let tempDir: string | undefined;

  const plain = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const s3 = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let tlsListener: Deno.TlsListener | undefined;
  let caCertFile: string | undefined;
  if (opts.tls) {
    tempDir = await Deno.makeTempDir({ prefix: "fault-proxy-" });
    const ca = await makeTestCA(tempDir);
    tlsListener = Deno.listenTls({
      hostname: "127.0.0.1",
      port: 0,
      cert: await Deno.readTextFile(ca.serverCert),
      key: await Deno.readTextFile(ca.serverKey),
    });
    caCertFile = ca.caCert;
  }
  const hostOf = (l: Deno.Listener) => `127.0.0.1:${(l.addr as Deno.NetAddr).port}`;
  const url = `http://${hostOf(plain)}`;
  const s3Url = `http://${hostOf(s3)}`;
  const tlsUrl = tlsListener ? `https://${hostOf(tlsListener)}` : undefined;

  async function forward(req?: ProxyRequest, path?: string) {
    const p = path ?? req?.upstreamPath;
    if (!p) throw new Error("fault proxy: nothing to forward");
    const headers = new Headers();
    for (const h of ["accept", "authorization"]) {
      const v = req?.headers.get(h);
      if (v) headers.set(h, v);
    }
    const res = await fetch(`${upstream.url}${p}`, {
      method: req?.method === "HEAD" ? "HEAD" : "GET",
      headers,
      redirect: "manual",
      client: upstream.httpClient,
    });
    const body = new Uint8Array(await res.arrayBuffer());
    const out = new Headers(res.headers);
    for (const h of HOP_BY_HOP) out.delete(h);
    return { status: res.status, headers: out, body };
  }

  function route(listener: ProxyRequest["listener"], raw: RawRequest): ProxyRequest {
    const path = raw.target.split("?")[0];
    const entry: ProxyRequest = {
      scenario: "",
      listener,
      kind: "other",
      method: raw.method,
      target: raw.target,
      headers: raw.headers,
      body: raw.body,
      n: 0,
      at: performance.now(),
      bodyBytesSent: 0,
      clientClosed: false,
    };
    let m: RegExpExecArray | null;
    if (listener === "s3" && (m = S3_PATH.exec(path))) {
      entry.scenario = m[1];
      entry.kind = "s3";
      entry.repo = m[2];
      entry.reference = m[3];
      entry.upstreamPath = `/v2/${m[2]}/blobs/${m[3]}`;
    } else if ((m = TOKEN_PATH.exec(path))) {
      entry.scenario = m[1];
      entry.kind = "token";
    } else if ((m = API_PATH.exec(path))) {
      entry.kind = m[3] as RequestKind;
      entry.reference = m[4];
      if (scenarios.has(m[1])) {
        entry.scenario = m[1];
        entry.repo = m[2];
      } else {
        entry.repo = `${m[1]}/${m[2]}`;
      }
      entry.upstreamPath = `/v2/${entry.repo}/${entry.kind}/${entry.reference}`;
    } else {
      entry.upstreamPath = path;
    }
    entry.n = log.filter((e) => e.scenario === entry.scenario && e.kind === entry.kind).length + 1;
    log.push(entry);
    return entry;
  }

  async function answer(conn: Deno.Conn, entry: ProxyRequest, action: FaultAction): Promise<void> {
    if (action === "drop") return;
    if (action === "stall") {
      await holdUntilClosed(conn);
      entry.clientClosed = !stopped;
      return;
    }
    const body = action.body ?? new Uint8Array(0);
    const headers = new Headers(action.headers);
    for (const h of HOP_BY_HOP) headers.delete(h);
    const chunked = action.contentLength === "chunked";
    if (chunked) headers.set("transfer-encoding", "chunked");
    else headers.set("content-length", String(action.contentLength ?? body.byteLength));
    if (chunked && action.alsoDeclare !== undefined) {
      headers.set("content-length", String(action.alsoDeclare));
    }
    headers.set("connection", "close");
    let head = `HTTP/1.1 ${action.status} ${REASONS[action.status] ?? "Status"}\r\n`;
    for (const [k, v] of headers) head += `${k}: ${v}\r\n`;
    entry.status = action.status;
    const limit = Math.min(action.sendBytes ?? body.byteLength, body.byteLength);
    try {
      await writeAll(conn, enc.encode(`${head}\r\n`));
      if (entry.method !== "HEAD") {
        for (let off = 0; off < limit;) {
          const piece = body.subarray(off, Math.min(limit, off + 64 * 1024));
          await writeAll(
            conn,
            chunked ? chunkFrame(piece) : piece,
          );
          off += piece.byteLength;
          entry.bodyBytesSent = off;
        }
        if (chunked && limit === body.byteLength && action.then !== "hold") {
          await writeAll(conn, enc.encode("0\r\n\r\n"));
        }
      }
    } catch {
      // The client hung up while we were writing.
      entry.clientClosed = !stopped;
      return;
    }
    if (action.then === "hold") {
      await holdUntilClosed(conn);
      entry.clientClosed = !stopped;
    }
  }

  async function handle(conn: Deno.Conn, listener: ProxyRequest["listener"]): Promise<void> {
    conns.add(conn);
    let entry: ProxyRequest | undefined;
    try {
      const raw = await readRequest(conn);
      if (!raw) return;
      entry = route(listener, raw);
      const handler = scenarios.get(entry.scenario);
      const tools: FaultTools = {
        forward,
        origin: listener === "https" ? tlsUrl! : listener === "s3" ? s3Url : url,
        url,
        tlsUrl,
        s3Url,
      };
      let action: FaultAction;
      try {
        action = handler ? await handler(entry, tools) : await forward(entry);
      } catch (err) {
        action = { status: 502, body: enc.encode(`fault proxy: ${(err as Error).message}\n`) };
      }
      await answer(conn, entry, action);
    } catch {
      // TLS handshake failures, resets: nothing to record
    } finally {
      if (entry) entry.endedAt = performance.now();
      conns.delete(conn);
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  }

  async function acceptLoop(l: Deno.Listener, listener: ProxyRequest["listener"]): Promise<void> {
    try {
      for await (const conn of l) {
        const p = handle(conn, listener);
        inFlight.add(p);
        p.finally(() => inFlight.delete(p));
      }
    } catch {
      // listener closed
    }
  }

  const loops = [acceptLoop(plain, "http"), acceptLoop(s3, "s3")];
  if (tlsListener) loops.push(acceptLoop(tlsListener, "https"));

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const l of [plain, s3, tlsListener]) {
      try {
        l?.close();
      } catch {
        // already closed
      }
    }
    for (const c of conns) {
      try {
        c.close();
      } catch {
        // already closed
      }
    }
    await Promise.allSettled([...loops, ...inFlight]);
    if (tempDir) await Deno.remove(tempDir, { recursive: true }).catch(() => {});
  };

  return {
    host: hostOf(plain),
    url,
    tlsHost: tlsListener ? hostOf(tlsListener) : undefined,
    tlsUrl,
    caCertFile,
    s3Url,
    scenario(name, handler) {
      if (!/^[a-z0-9][a-z0-9._-]*$/.test(name)) throw new Error(`bad scenario name ${name}`);
      scenarios.set(name, handler);
    },
    ref(name, repoAndTag, tls = false) {
      return `${tls ? hostOf(tlsListener!) : hostOf(plain)}/${name}/${repoAndTag}`;
    },
    requests(scenario, kind) {
      return log.filter((e) =>
        (scenario === undefined || e.scenario === scenario) && (!kind || e.kind === kind)
      );
    },
    async settled(timeoutMs = 5000) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.allSettled([...inFlight]),
        new Promise((r) => timer = setTimeout(r, timeoutMs)),
      ]);
      clearTimeout(timer);
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** Whether `req` is of `kind` (`undefined` matches every registry request: manifests and blobs). */
function matches(req: ProxyRequest, kind?: RequestKind): boolean {
  return kind ? req.kind === kind : req.kind === "manifests" || req.kind === "blobs";
}

/** A distribution-style JSON error body. */
export function errorBody(code: string, message: string): Uint8Array {
  return enc.encode(JSON.stringify({ errors: [{ code, message }] }));
}

/** Ready-made scenarios. Anything not listed is easy to write inline as a {@linkcode FaultHandler}. */
export const faults = {
  /** Forward everything unchanged. */
  pass: ((req, t) => t.forward(req)) as FaultHandler,

  /**
   * Answer `status` (with `headers`) to the first `times` requests of `kind` (default: manifests), then
   * forward. `times = Infinity` fails forever.
   */
  statusTimes(
    status: number,
    times: number,
    opts: { kind?: RequestKind; headers?: HeadersInit } = {},
  ): FaultHandler {
    return (req, t) =>
      matches(req, opts.kind ?? "manifests") && req.n <= times
        ? {
          status,
          headers: { "content-type": "application/json", ...Object.fromEntries(new Headers(opts.headers)) },
          body: errorBody(status === 404 ? "MANIFEST_UNKNOWN" : "UNAVAILABLE", `fault proxy: ${status}`),
        }
        : t.forward(req);
  },

  /**
   * Forward, but for the first `times` requests of `kind` send the real headers (full `Content-Length`) and
   * only `fraction` of the body, then close the connection.
   */
  truncateTimes(times: number, kind: RequestKind = "manifests", fraction = 0.5): FaultHandler {
    return async (req, t) => {
      const r = await t.forward(req);
      if (!matches(req, kind) || req.n > times) return r;
      return { ...r, sendBytes: Math.floor(r.body.byteLength * fraction), then: "close" };
    };
  },

  /** Forward; for requests of `kind`, send the real headers and then nothing, holding the connection open. */
  stallAfterHeaders(kind: RequestKind = "manifests"): FaultHandler {
    return async (req, t) => {
      const r = await t.forward(req);
      return matches(req, kind) ? { ...r, sendBytes: 0, then: "hold" } : r;
    };
  },

  /** Forward with the body of requests of `kind` changed by `edit` (headers kept, Content-Length fixed). */
  editBody(kind: RequestKind, edit: (body: Uint8Array, headers: Headers) => Uint8Array): FaultHandler {
    return async (req, t) => {
      const r = await t.forward(req);
      if (!matches(req, kind) || r.status !== 200) return r;
      return { ...r, body: edit(r.body, r.headers) };
    };
  },

  /** Answer requests of `kind` with `reply`; forward the rest. */
  serve(kind: RequestKind, reply: FaultAction | ((req: ProxyRequest) => FaultAction)): FaultHandler {
    return (req, t) =>
      matches(req, kind) ? (typeof reply === "function" ? reply(req) : reply) : t.forward(req);
  },

  /** Redirect (302) every registry request to `location(req, tools)`. */
  redirect(location: (req: ProxyRequest, t: FaultTools) => string, status = 302): FaultHandler {
    return (req, t) => ({ status, headers: { location: location(req, t) } });
  },

  /**
   * Blob requests are answered like ECR does: `307` to a presigned URL on the second origin, carrying
   * `X-Amz-Signature=<signature>`. The second origin, like S3, answers 400 when an `Authorization` header
   * arrives (a second auth mechanism) and the real blob otherwise (or `s3Status`, if given).
   * With `basic`, registry requests without those Basic credentials get a 401 Basic challenge first, so the
   * client does send an `Authorization` header to the registry.
   */
  presignedBlobs(
    opts: {
      signature?: string;
      basic?: { username: string; password: string };
      s3Status?: number;
      /** Base URL the presigned URLs point to instead of the second origin (e.g. a closed port). */
      s3Base?: string;
    } = {},
  ): FaultHandler {
    const signature = opts.signature ?? "SECRETSIG";
    const expected = opts.basic
      ? `Basic ${btoa(`${opts.basic.username}:${opts.basic.password}`)}`
      : undefined;
    return async (req, t): Promise<FaultAction> => {
      if (req.kind === "s3") {
        if (req.headers.has("authorization")) {
          return {
            status: 400,
            headers: { "content-type": "application/xml" },
            body: enc.encode(
              "<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed; only the " +
                "X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header " +
                "should be specified</Message></Error>",
            ),
          };
        }
        if (opts.s3Status) {
          return {
            status: opts.s3Status,
            headers: { "content-type": "application/xml" },
            body: enc.encode(
              "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
            ),
          };
        }
        const r = await t.forward(req);
        r.headers.set("content-type", "application/octet-stream");
        r.headers.delete("docker-content-digest");
        return r;
      }
      if (expected && req.headers.get("authorization") !== expected) {
        return {
          status: 401,
          headers: { "www-authenticate": 'Basic realm="fault-proxy"', "content-type": "application/json" },
          body: errorBody("UNAUTHORIZED", "authentication required"),
        };
      }
      if (req.kind !== "blobs") return t.forward(req);
      const query = new URLSearchParams({
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": "ASIAFAKECREDENTIAL/20260101/us-east-1/s3/aws4_request",
        "X-Amz-Date": "20260101T000000Z",
        "X-Amz-Expires": "3600",
        "X-Amz-SignedHeaders": "host",
        "X-Amz-Signature": signature,
      });
      return {
        status: 307,
        headers: {
          location: `${opts.s3Base ?? t.s3Url}/${req.scenario}/${req.repo}/blobs/${req.reference}?${query}`,
        },
      };
    };
  },

  /**
   * A fake Bearer token service in front of the registry: requests without a token get a 401 Bearer challenge
   * whose realm is `<proxy>/token/<scenario>`; every token request gets a new token. A presented token is
   * accepted when `accept(serial, use)` says so (`serial`: 1 for the first token issued; `use`: 1 on its first
   * use), else rejected with 401 `error="invalid_token"`. Default: always accepted. `tokenReply` replaces the
   * token service's answer (oversized answers).
   */
  bearer(
    opts: { accept?: (serial: number, use: number) => boolean; tokenReply?: FaultAction } = {},
  ): FaultHandler {
    const accept = opts.accept ?? (() => true);
    const tokens = new Map<string, { serial: number; uses: number }>();
    return (req, t): FaultAction | Promise<FaultAction> => {
      if (req.kind === "token") {
        if (opts.tokenReply) return opts.tokenReply;
        const token = `faketoken-${req.n}-${crypto.randomUUID()}`;
        tokens.set(token, { serial: req.n, uses: 0 });
        return {
          status: 200,
          headers: { "content-type": "application/json" },
          body: enc.encode(JSON.stringify({ token, expires_in: 300 })),
        };
      }
      const scope = `repository:${req.scenario}/${req.repo}:pull`;
      const realm = `${t.origin}/token/${req.scenario}`;
      const challenge = `Bearer realm="${realm}",service="fault-proxy",scope="${scope}"`;
      const presented = /^Bearer\s+(\S+)$/i.exec(req.headers.get("authorization") ?? "")?.[1];
      const known = presented ? tokens.get(presented) : undefined;
      if (!known) {
        return {
          status: 401,
          headers: { "www-authenticate": challenge, "content-type": "application/json" },
          body: errorBody("UNAUTHORIZED", "authentication required"),
        };
      }
      known.uses++;
      if (!accept(known.serial, known.uses)) {
        return {
          status: 401,
          headers: {
            "www-authenticate": `${challenge},error="invalid_token"`,
            "content-type": "application/json",
          },
          body: errorBody("UNAUTHORIZED", "token expired"),
        };
      }
      return t.forward(req);
    };
  },
};
