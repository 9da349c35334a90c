/**
 * The HTTP transport layers against real local servers (and, where TLS or exotic answers would be needed, fake
 * inner fetchers): retries with backoff and Retry-After, redirects (hop limit, no https downgrade, credentials
 * dropped across origins), challenge-driven auth (Bearer token exchange, token cache, one refresh and no
 * loop, Basic, anonymous), capped body reads, and the mapping of runtime failures to NetworkError.
 */

import assert from "node:assert/strict";
import { AuthError, NetworkError, TimeoutError, TooLargeError } from "../src/errors.ts";
import type { CredentialLookup } from "../src/registry/credentials/types.ts";
import { MAX_TOKEN_BYTES, scopeForUrl, withAuth } from "../src/registry/transport/auth.ts";
import { readCapped } from "../src/registry/transport/body.ts";
import { chunkFrame, writeAll } from "./support/fault_proxy.ts";
import { markResumable } from "../src/registry/transport/resume.ts";
import { baseFetcher, type Fetcher, networkError, safeOrigin } from "../src/registry/transport/fetcher.ts";
import { MAX_REDIRECTS, withRedirects } from "../src/registry/transport/redirect.ts";
import { RETRY_STATUSES, retryAfterMs, withRetry } from "../src/registry/transport/retry.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

// ---------------------------------------------------------------------------------------------------------------
// helpers

interface TestServer {
  base: string;
  port: number;
}

/** Run `fn` against a real HTTP server on 127.0.0.1, always shut down afterwards. */
async function withServer(
  handler: (req: Request, base: string) => Response | Promise<Response>,
  fn: (s: TestServer) => Promise<void>,
): Promise<void> {
  let base = "";
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => handler(req, base),
  );
  base = `http://127.0.0.1:${server.addr.port}`;
  try {
    await fn({ base, port: server.addr.port });
  } finally {
    await server.shutdown();
  }
}

/** A base fetcher closed after `fn`. */
async function withBase(fn: (f: Fetcher) => Promise<void>): Promise<void> {
  const f = baseFetcher({ userAgent: "transport-test/1" });
  try {
    await fn(f);
  } finally {
    f.close();
  }
}

/** Deterministic "randomness": a fixed sequence, cycled. */
function fakeRandom(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length];
}

/** A port nothing listens on. */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------------------------
// retries

Deno.test("retryAfterMs: seconds, HTTP dates, garbage", () => {
  assert.equal(retryAfterMs("2"), 2000);
  assert.equal(retryAfterMs(" 0 "), 0);
  assert.equal(retryAfterMs(null), undefined);
  assert.equal(retryAfterMs(""), undefined);
  assert.equal(retryAfterMs("soon"), undefined);
  const now = Date.parse("2024-01-01T00:00:00Z");
  assert.equal(retryAfterMs("Mon, 01 Jan 2024 00:00:05 GMT", now), 5000);
  assert.equal(retryAfterMs("Sun, 31 Dec 2023 23:59:00 GMT", now), 0, "a date in the past means now");
});

Deno.test("RETRY_STATUSES are the transient ones", () => {
  assert.deepStrictEqual([...RETRY_STATUSES].sort(), [408, 429, 500, 502, 503, 504]);
});

Deno.test("withRetry: 503 then 200 is retried and succeeds", async () => {
  let hits = 0;
  const logs: string[] = [];
  await withServer(() => {
    hits++;
    return hits === 1 ? new Response("busy", { status: 503 }) : new Response("ok");
  }, async ({ base }) => {
    await withBase(async (inner) => {
      const f = withRetry(inner, {
        retries: 3,
        baseDelayMs: 5,
        random: fakeRandom(0),
        log: (l) => logs.push(l),
      });
      const res = await f(new Request(`${base}/v2/x/manifests/latest?X-Amz-Signature=secret`));
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "ok");
    });
  });
  assert.equal(hits, 2);
  assert.equal(logs.length, 1);
  assert.match(logs[0], /^retry 1\/3 of GET .* \(status 503\)$/);
  assert.ok(!logs[0].includes("secret"), "the logged URL is redacted");
});

Deno.test("withRetry: 429 with Retry-After: 1 waits about a second", async () => {
  let hits = 0;
  const times: number[] = [];
  await withServer(() => {
    hits++;
    times.push(performance.now());
    return hits === 1
      ? new Response("slow down", { status: 429, headers: { "retry-after": "1" } })
      : new Response("ok");
  }, async ({ base }) => {
    await withBase(async (inner) => {
      // random() = 0 makes the computed backoff 0: any wait comes from Retry-After.
      const f = withRetry(inner, { retries: 2, baseDelayMs: 1, random: fakeRandom(0) });
      const res = await f(new Request(`${base}/x`));
      assert.equal(res.status, 200);
      await res.body?.cancel();
    });
  });
  assert.equal(hits, 2);
  const waited = times[1] - times[0];
  assert.ok(waited >= 950, `waited only ${waited} ms`);
  assert.ok(waited < 5000, `waited ${waited} ms`);
});

Deno.test("withRetry: Retry-After is capped by maxDelayMs", async () => {
  let hits = 0;
  const started = performance.now();
  await withServer(() => {
    hits++;
    return hits === 1
      ? new Response(null, { status: 503, headers: { "retry-after": "3600" } })
      : new Response("ok");
  }, async ({ base }) => {
    await withBase(async (inner) => {
      const f = withRetry(inner, { retries: 1, maxDelayMs: 50, random: fakeRandom(0) });
      const res = await f(new Request(`${base}/x`));
      assert.equal(res.status, 200);
      await res.body?.cancel();
    });
  });
  assert.ok(performance.now() - started < 2000);
});

Deno.test("withRetry: 404 and other non-transient statuses are not retried", async () => {
  for (const status of [400, 401, 403, 404, 501]) {
    let hits = 0;
    await withServer(() => {
      hits++;
      return new Response("no", { status });
    }, async ({ base }) => {
      await withBase(async (inner) => {
        const res = await withRetry(inner, { retries: 5, baseDelayMs: 1, random: fakeRandom(0) })(
          new Request(`${base}/x`),
        );
        assert.equal(res.status, status);
        await res.body?.cancel();
      });
    });
    assert.equal(hits, 1, `status ${status} was retried`);
  }
});

Deno.test("withRetry: when retries are exhausted the last response is returned", async () => {
  let hits = 0;
  await withServer(() => {
    hits++;
    return new Response(`attempt ${hits}`, { status: 502 });
  }, async ({ base }) => {
    await withBase(async (inner) => {
      const res = await withRetry(inner, { retries: 2, baseDelayMs: 1, random: fakeRandom(0.5) })(
        new Request(`${base}/x`),
      );
      assert.equal(res.status, 502);
      assert.equal(await res.text(), "attempt 3");
    });
  });
  assert.equal(hits, 3);
});

Deno.test("withRetry: backoff doubles and is scaled by random()", async () => {
  const delays: number[] = [];
  let calls = 0;
  const inner: Fetcher = () => {
    calls++;
    return Promise.resolve(new Response(null, { status: 500 }));
  };
  const f = withRetry(inner, {
    retries: 3,
    baseDelayMs: 10,
    maxDelayMs: 25,
    random: fakeRandom(1, 1, 0.5),
    log: (l) => delays.push(Number(/in (\d+) ms/.exec(l)?.[1])),
  });
  const res = await f(new Request("http://unused.example/x"));
  assert.equal(res.status, 500);
  assert.equal(calls, 4);
  // attempt 0: min(25, 10)*1 = 10; attempt 1: min(25, 20)*1 = 20; attempt 2: min(25, 40)*0.5 = 12.5 -> 13
  assert.deepStrictEqual(delays, [10, 20, 13]);
});

Deno.test("withRetry: a POST body is sent again on every attempt", async () => {
  const bodies: string[] = [];
  await withServer(async (req) => {
    bodies.push(await req.text());
    return bodies.length < 3 ? new Response(null, { status: 503 }) : new Response("done");
  }, async ({ base }) => {
    await withBase(async (inner) => {
      const f = withRetry(inner, { retries: 3, baseDelayMs: 1, random: fakeRandom(0) });
      const res = await f(new Request(`${base}/token`, { method: "POST", body: "grant_type=x" }));
      assert.equal(await res.text(), "done");
    });
  });
  assert.deepStrictEqual(bodies, ["grant_type=x", "grant_type=x", "grant_type=x"]);
});

/** A raw TCP server: the first `drop` connections are closed at once, later ones get a 200. */
async function withFlakyTcp(drop: number, fn: (base: string, accepted: () => number) => Promise<void>) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  let accepted = 0;
  const conns = new Set<Deno.Conn>();
  const loop = (async () => {
    try {
      for await (const conn of listener) {
        accepted++;
        if (accepted <= drop) {
          conn.close();
          continue;
        }
        conns.add(conn);
        (async () => {
          try {
            const buf = new Uint8Array(16 * 1024);
            let text = "";
            while (!text.includes("\r\n\r\n")) {
              const n = await conn.read(buf);
              if (n === null) break;
              text += dec.decode(buf.subarray(0, n));
            }
            await conn.write(
              enc.encode("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"),
            );
          } catch {
            // client went away
          } finally {
            conns.delete(conn);
            try {
              conn.close();
            } catch {
              // already closed
            }
          }
        })();
      }
    } catch {
      // listener closed
    }
  })();
  try {
    await fn(`http://127.0.0.1:${port}`, () => accepted);
  } finally {
    listener.close();
    await loop;
    for (const c of conns) {
      try {
        c.close();
      } catch {
        // closed
      }
    }
  }
}

Deno.test("withRetry: a connection closed by the server is a NetworkError that is retried", async () => {
  await withFlakyTcp(2, async (base, accepted) => {
    await withBase(async (inner) => {
      const logs: string[] = [];
      const f = withRetry(inner, {
        retries: 3,
        baseDelayMs: 1,
        random: fakeRandom(0),
        log: (l) => logs.push(l),
      });
      const res = await f(new Request(`${base}/v2/`));
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "ok");
      assert.equal(accepted(), 3);
      assert.equal(logs.length, 2);
      assert.match(logs[0], /connection to http:\/\/127\.0\.0\.1:\d+ was interrupted/);
    });
  });
});

Deno.test("withRetry: without retries the dropped connection surfaces as a NetworkError", async () => {
  await withFlakyTcp(1, async (base, accepted) => {
    await withBase(async (inner) => {
      await assert.rejects(withRetry(inner, { retries: 0 })(new Request(`${base}/v2/`)), (err: unknown) => {
        assert.ok(err instanceof NetworkError, `${err}`);
        assert.match(err.message, /^connection to http:\/\/127\.0\.0\.1:\d+ was interrupted/);
        return true;
      });
      assert.equal(accepted(), 1);
    });
  });
});

Deno.test("withRetry: TLS and DNS failures and timeouts are not retried", async () => {
  for (
    const err of [
      new NetworkError("TLS failure talking to https://r.example: invalid peer certificate", {
        failure: "tls",
      }),
      new NetworkError("cannot resolve the registry host of https://nope.example", { failure: "dns" }),
      new NetworkError("https://r.example does not speak TLS", { failure: "protocol" }),
      new TimeoutError("timed out talking to https://r.example"),
      new TypeError("a bug, not a network failure"),
    ]
  ) {
    let calls = 0;
    const inner: Fetcher = () => {
      calls++;
      return Promise.reject(err);
    };
    await assert.rejects(
      withRetry(inner, { retries: 5, baseDelayMs: 1, random: fakeRandom(0) })(
        new Request("https://r.example/"),
      ),
      (e) => e === err,
    );
    assert.equal(calls, 1, err.message);
  }
});

Deno.test("withRetry: a refused connection is retried, then the error is thrown", async () => {
  let calls = 0;
  const err = new NetworkError("connection refused by http://127.0.0.1:1");
  const inner: Fetcher = () => {
    calls++;
    return Promise.reject(err);
  };
  await assert.rejects(
    withRetry(inner, { retries: 2, baseDelayMs: 1, random: fakeRandom(0) })(
      new Request("http://127.0.0.1:1/"),
    ),
    (e) => e === err,
  );
  assert.equal(calls, 3);
});

Deno.test("withRetry: the deadline cuts a backoff sleep short with a TimeoutError", async () => {
  const inner: Fetcher = () =>
    Promise.resolve(new Response(null, { status: 503, headers: { "retry-after": "30" } }));
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException("deadline", "TimeoutError")), 50);
  const started = performance.now();
  try {
    await assert.rejects(
      withRetry(inner, { retries: 3, maxDelayMs: 60_000, signal: controller.signal, random: fakeRandom(0) })(
        new Request("https://r.example/x"),
      ),
      (e: unknown) =>
        e instanceof TimeoutError && /timed out while retrying https:\/\/r\.example/.test(e.message),
    );
  } finally {
    clearTimeout(timer);
  }
  assert.ok(performance.now() - started < 5000);
});

// ---------------------------------------------------------------------------------------------------------------
// redirects

Deno.test("withRedirects: a chain of 3 redirects over real HTTP is followed", async () => {
  const seen: string[] = [];
  await withServer((req) => {
    const u = new URL(req.url);
    seen.push(`${req.method} ${u.pathname}`);
    const m = /^\/hop\/(\d+)$/.exec(u.pathname);
    if (m && Number(m[1]) < 3) {
      const status = [301, 302, 307][Number(m[1])];
      return new Response(null, { status, headers: { location: `/hop/${Number(m[1]) + 1}` } });
    }
    return new Response(`final ${u.pathname}`);
  }, async ({ base }) => {
    await withBase(async (inner) => {
      const res = await withRedirects(inner)(new Request(`${base}/hop/0`));
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "final /hop/3");
    });
  });
  assert.deepStrictEqual(seen, ["GET /hop/0", "GET /hop/1", "GET /hop/2", "GET /hop/3"]);
});

Deno.test("withRedirects: 10 hops are followed, 11 are a NetworkError", async () => {
  assert.equal(MAX_REDIRECTS, 10);
  await withServer((req) => {
    const u = new URL(req.url);
    const [, n, limit] = /^\/(\d+)\/(\d+)$/.exec(u.pathname)!.map(Number);
    if (n < limit) return new Response(null, { status: 302, headers: { location: `/${n + 1}/${limit}` } });
    return new Response("end");
  }, async ({ base }) => {
    await withBase(async (inner) => {
      const f = withRedirects(inner);
      const ok = await f(new Request(`${base}/0/10`));
      assert.equal(ok.status, 200);
      assert.equal(await ok.text(), "end");
      await assert.rejects(f(new Request(`${base}/0/11`)), (err: unknown) => {
        assert.ok(err instanceof NetworkError, `${err}`);
        assert.match(
          err.message,
          /too many redirects \(more than 10\) starting at http:\/\/127\.0\.0\.1:\d+$/,
        );
        return true;
      });
      await assert.rejects(
        withRedirects(inner, { maxRedirects: 2 })(new Request(`${base}/0/3`)),
        /more than 2/,
      );
    });
  });
});

/** A fake inner fetcher: answers from a table keyed by URL, records every request. */
function fakeInner(routes: Record<string, () => Response>) {
  const requests: { url: string; method: string; headers: Record<string, string>; body: string }[] = [];
  const f: Fetcher = async (req) => {
    requests.push({
      url: req.url,
      method: req.method,
      headers: Object.fromEntries(req.headers),
      body: req.body ? await req.text() : "",
    });
    const route = routes[req.url];
    return route ? route() : new Response("not found", { status: 404 });
  };
  return { f, requests };
}

const redirect = (status: number, location: string) => () =>
  new Response(null, { status, headers: { location } });

Deno.test("withRedirects: https to http is refused", async () => {
  const inner = fakeInner({
    "https://reg.example/v2/x/blobs/sha256:a": redirect(302, "http://cdn.example/blob"),
  });
  await assert.rejects(
    withRedirects(inner.f)(new Request("https://reg.example/v2/x/blobs/sha256:a")),
    (err: unknown) => {
      assert.ok(err instanceof NetworkError, `${err}`);
      assert.match(err.message, /refusing a redirect from https to http \(http:\/\/cdn\.example\)/);
      return true;
    },
  );
  assert.equal(inner.requests.length, 1, "the http URL was never requested");
});

Deno.test("withRedirects: non-http(s) targets are refused", async () => {
  for (const location of ["ftp://x.example/a", "file:///etc/passwd", "data:text/plain,hi"]) {
    const inner = fakeInner({ "http://reg.example/a": redirect(302, location) });
    await assert.rejects(withRedirects(inner.f)(new Request("http://reg.example/a")), NetworkError, location);
    assert.equal(inner.requests.length, 1);
  }
});

Deno.test("withRedirects: Authorization and cookies are dropped across origins and kept on the same origin", async () => {
  const inner = fakeInner({
    "https://reg.example/v2/app/blobs/sha256:1": redirect(307, "/v2/app/blobs/sha256:1/moved"),
    "https://reg.example/v2/app/blobs/sha256:1/moved": redirect(
      307,
      "https://bucket.s3.amazonaws.com/layer?X-Amz-Signature=sig",
    ),
    "https://bucket.s3.amazonaws.com/layer?X-Amz-Signature=sig": () => new Response("layer bytes"),
  });
  const res = await withRedirects(inner.f)(
    new Request("https://reg.example/v2/app/blobs/sha256:1", {
      headers: {
        authorization: "Bearer secret",
        cookie: "s=1",
        "proxy-authorization": "Basic x",
        accept: "*/*",
      },
    }),
  );
  assert.equal(await res.text(), "layer bytes");
  assert.equal(inner.requests.length, 3);
  const [first, same, cross] = inner.requests;
  assert.equal(first.headers.authorization, "Bearer secret");
  assert.equal(same.url, "https://reg.example/v2/app/blobs/sha256:1/moved");
  assert.equal(same.headers.authorization, "Bearer secret", "same origin keeps Authorization");
  assert.equal(same.headers.cookie, "s=1");
  assert.equal(cross.headers.authorization, undefined, "cross origin drops Authorization");
  assert.equal(cross.headers.cookie, undefined);
  assert.equal(cross.headers["proxy-authorization"], undefined);
  assert.equal(cross.headers.accept, "*/*", "other headers are kept");
});

Deno.test("withRedirects: another port is another origin", async () => {
  const inner = fakeInner({
    "https://reg.example/a": redirect(302, "https://reg.example:8443/a"),
    "https://reg.example:8443/a": () => new Response("ok"),
  });
  const res = await withRedirects(inner.f)(
    new Request("https://reg.example/a", { headers: { authorization: "Basic abc" } }),
  );
  await res.body?.cancel();
  assert.equal(inner.requests[1].headers.authorization, undefined);
});

Deno.test("withRedirects: 303 (and 301/302 of a POST) become GET without body; 307/308 keep method and body", async () => {
  for (
    const [status, method, body] of [[303, "GET", ""], [302, "GET", ""], [301, "GET", ""], [
      307,
      "POST",
      "a=1",
    ], [308, "POST", "a=1"]] as const
  ) {
    const inner = fakeInner({
      "https://auth.example/token": redirect(status, "https://auth.example/token2"),
      "https://auth.example/token2": () => new Response("tok"),
    });
    const res = await withRedirects(inner.f)(
      new Request("https://auth.example/token", {
        method: "POST",
        body: "a=1",
        headers: { "content-type": "application/x-www-form-urlencoded" },
      }),
    );
    assert.equal(await res.text(), "tok");
    assert.equal(inner.requests[0].body, "a=1");
    assert.equal(inner.requests[1].method, method, `status ${status}`);
    assert.equal(inner.requests[1].body, body, `status ${status}`);
  }
});

Deno.test("withRedirects: HEAD stays HEAD", async () => {
  const inner = fakeInner({
    "https://r.example/v2/a/manifests/x": redirect(302, "https://r.example/v2/a/manifests/y"),
    "https://r.example/v2/a/manifests/y": () => new Response(null, { status: 200 }),
  });
  await withRedirects(inner.f)(new Request("https://r.example/v2/a/manifests/x", { method: "HEAD" }));
  assert.deepStrictEqual(inner.requests.map((r) => r.method), ["HEAD", "HEAD"]);
});

Deno.test("withRedirects: a redirect without Location is a NetworkError", async () => {
  const inner = fakeInner({ "https://r.example/a": () => new Response(null, { status: 302 }) });
  await assert.rejects(withRedirects(inner.f)(new Request("https://r.example/a")), (err: unknown) => {
    return err instanceof NetworkError && /answered 302 without a Location header/.test(err.message);
  });
});

Deno.test("withRedirects: non-redirect statuses pass through untouched", async () => {
  const inner = fakeInner({ "https://r.example/a": () => new Response(null, { status: 304 }) });
  const res = await withRedirects(inner.f)(new Request("https://r.example/a"));
  assert.equal(res.status, 304);
  await res.body?.cancel();
  assert.equal(inner.requests.length, 1);
});

// ---------------------------------------------------------------------------------------------------------------
// auth

interface RegistryState {
  tokenRequests: { url: URL; method: string; authorization: string | null; body: string }[];
  registryAuth: (string | null)[];
  valid: Set<string>;
  issued: number;
  rejectAll: boolean;
  expiresIn: number;
  tokenDelayMs: number;
  tokenStatus: number;
  scheme: "bearer" | "basic";
  basicUser: string;
  basicPass: string;
}

function newState(over: Partial<RegistryState> = {}): RegistryState {
  return {
    tokenRequests: [],
    registryAuth: [],
    valid: new Set(),
    issued: 0,
    rejectAll: false,
    expiresIn: 300,
    tokenDelayMs: 0,
    tokenStatus: 200,
    scheme: "bearer",
    basicUser: "user",
    basicPass: "pass",
    ...over,
  };
}

/** A registry plus its token service on one server. */
function registryHandler(state: RegistryState) {
  return async (req: Request, base: string): Promise<Response> => {
    const url = new URL(req.url);
    if (url.pathname === "/token") {
      state.tokenRequests.push({
        url,
        method: req.method,
        authorization: req.headers.get("authorization"),
        body: req.body ? await req.text() : "",
      });
      if (state.tokenDelayMs) await sleep(state.tokenDelayMs);
      if (state.tokenStatus !== 200) return new Response("no", { status: state.tokenStatus });
      const token = `tok${++state.issued}`;
      state.valid.add(token);
      return Response.json(
        req.method === "POST"
          ? { access_token: token, expires_in: state.expiresIn }
          : { token, expires_in: state.expiresIn },
      );
    }
    const auth = req.headers.get("authorization");
    state.registryAuth.push(auth);
    if (!state.rejectAll) {
      if (state.scheme === "bearer" && auth?.startsWith("Bearer ") && state.valid.has(auth.slice(7))) {
        return new Response(`content of ${url.pathname}`);
      }
      if (state.scheme === "basic" && auth === `Basic ${btoa(`${state.basicUser}:${state.basicPass}`)}`) {
        return new Response(`content of ${url.pathname}`);
      }
    }
    const repo = /^\/v2\/(.+)\/manifests\//.exec(url.pathname)?.[1] ?? "x";
    const challenge = state.scheme === "bearer"
      ? `Bearer realm="${base}/token",service="test-registry",scope="repository:${repo}:pull"`
      : 'Basic realm="test-registry"';
    return new Response('{"errors":[{"code":"UNAUTHORIZED"}]}', {
      status: 401,
      headers: { "www-authenticate": challenge },
    });
  };
}

const anonymous = (): Promise<CredentialLookup> =>
  Promise.resolve({ searched: ["/home/u/.docker/config.json (absent)"] });
const basicCreds = (username = "user", password = "pass"): () => Promise<CredentialLookup> => () =>
  Promise.resolve({
    credential: { kind: "basic", username, password, source: "/cfg/config.json auths" },
    searched: ["/cfg/config.json auths"],
  });

async function withRegistry(
  state: RegistryState,
  fn: (base: string, inner: Fetcher, registry: string) => Promise<void>,
): Promise<void> {
  await withServer(registryHandler(state), async ({ base, port }) => {
    await withBase((inner) => fn(base, inner, `127.0.0.1:${port}`));
  });
}

Deno.test("scopeForUrl", () => {
  assert.equal(scopeForUrl("https://r.example/v2/org/app/manifests/latest"), "repository:org/app:pull");
  assert.equal(scopeForUrl("https://r.example/v2/a/b/c/blobs/sha256:1"), "repository:a/b/c:pull");
  assert.equal(scopeForUrl("https://r.example/v2/a/tags/list"), "repository:a:pull");
  assert.equal(scopeForUrl("https://r.example/v2/a/referrers/sha256:1"), "repository:a:pull");
  assert.equal(scopeForUrl("https://r.example/v2/"), undefined);
  assert.equal(scopeForUrl("https://r.example/token"), undefined);
});

Deno.test("withAuth: anonymous Bearer flow, then the cached token is reused", async () => {
  const state = newState();
  const secrets: string[] = [];
  await withRegistry(state, async (base, inner, registry) => {
    const f = withAuth(inner, {
      registry,
      credentials: anonymous,
      tokenFetcher: inner,
      clientId: "test-client",
      onSecret: (s) => secrets.push(s),
    });
    const res = await f(new Request(`${base}/v2/org/team/app/manifests/latest`));
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "content of /v2/org/team/app/manifests/latest");
    assert.equal(state.tokenRequests.length, 1);
    const t = state.tokenRequests[0];
    assert.equal(t.method, "GET");
    assert.equal(t.url.searchParams.get("service"), "test-registry");
    assert.deepStrictEqual(t.url.searchParams.getAll("scope"), ["repository:org/team/app:pull"]);
    assert.equal(t.authorization, null, "anonymous token request");
    assert.deepStrictEqual(state.registryAuth, [null, "Bearer tok1"]);
    assert.deepStrictEqual(secrets, ["tok1"]);

    // Same repository: the cached token goes out at once, no 401, no token request.
    const again = await f(new Request(`${base}/v2/org/team/app/manifests/sha256:${"a".repeat(64)}`));
    assert.equal(again.status, 200);
    await again.body?.cancel();
    assert.equal(state.tokenRequests.length, 1, "no new token request");
    assert.deepStrictEqual(state.registryAuth, [null, "Bearer tok1", "Bearer tok1"]);
  });
});

Deno.test("withAuth: Bearer token request carries Basic credentials", async () => {
  const state = newState();
  await withRegistry(state, async (base, inner, registry) => {
    const f = withAuth(inner, {
      registry,
      credentials: basicCreds("alice", "wonder:land"),
      tokenFetcher: inner,
      clientId: "c",
    });
    const res = await f(new Request(`${base}/v2/app/manifests/1`));
    assert.equal(res.status, 200);
    await res.body?.cancel();
    assert.equal(state.tokenRequests[0].authorization, `Basic ${btoa("alice:wonder:land")}`);
  });
});

Deno.test("withAuth: identity token is exchanged with an OAuth2 refresh_token POST", async () => {
  const state = newState();
  await withRegistry(state, async (base, inner, registry) => {
    const f = withAuth(inner, {
      registry,
      credentials: () =>
        Promise.resolve({
          credential: { kind: "identity-token", token: "refresh-me", source: "cfg" },
          searched: ["cfg"],
        }),
      tokenFetcher: inner,
      clientId: "ecrimagemetadataextractor",
    });
    const res = await f(new Request(`${base}/v2/app/manifests/1`));
    assert.equal(res.status, 200);
    await res.body?.cancel();
    const t = state.tokenRequests[0];
    assert.equal(t.method, "POST");
    const form = new URLSearchParams(t.body);
    assert.equal(form.get("grant_type"), "refresh_token");
    assert.equal(form.get("refresh_token"), "refresh-me");
    assert.equal(form.get("client_id"), "ecrimagemetadataextractor");
    assert.equal(form.get("service"), "test-registry");
    assert.equal(form.get("scope"), "repository:app:pull");
    assert.deepStrictEqual(state.registryAuth, [null, "Bearer tok1"]);
  });
});

Deno.test("withAuth: a registry token credential is used as the Bearer token without a token request", async () => {
  const state = newState();
  state.valid.add("static-rt");
  await withRegistry(state, async (base, inner, registry) => {
    const f = withAuth(inner, {
      registry,
      credentials: () =>
        Promise.resolve({
          credential: { kind: "registry-token", token: "static-rt", source: "cfg" },
          searched: [],
        }),
      tokenFetcher: inner,
      clientId: "c",
    });
    const res = await f(new Request(`${base}/v2/app/manifests/1`));
    assert.equal(res.status, 200);
    await res.body?.cancel();
    assert.equal(state.tokenRequests.length, 0);
    assert.deepStrictEqual(state.registryAuth, [null, "Bearer static-rt"]);
  });
});

Deno.test("withAuth: a rejected token gets exactly one fresh token, then AuthError, never a loop", async () => {
  const state = newState();
  await withRegistry(state, async (base, inner, registry) => {
    const f = withAuth(inner, { registry, credentials: anonymous, tokenFetcher: inner, clientId: "c" });
    const url = `${base}/v2/app/manifests/1`;
    const first = await f(new Request(url));
    assert.equal(first.status, 200);
    await first.body?.cancel();

    // The registry revokes tok1: the next request is refused once, a new token is fetched, and it works.
    state.valid.clear();
    const second = await f(new Request(url));
    assert.equal(second.status, 200);
    await second.body?.cancel();
    assert.equal(state.tokenRequests.length, 2);
    assert.deepStrictEqual(state.registryAuth, [null, "Bearer tok1", "Bearer tok1", "Bearer tok2"]);

    // Now nothing is accepted: one more token, then AuthError.
    state.rejectAll = true;
    await assert.rejects(f(new Request(url)), (err: unknown) => {
      assert.ok(err instanceof AuthError, `${err}`);
      assert.match(err.message, /repository:app:pull/);
      assert.match(
        err.message,
        /no credentials found \(looked in: \/home\/u\/\.docker\/config\.json \(absent\)\)$/,
      );
      assert.match(err.hint ?? "", /docker login/);
      return true;
    });
    assert.equal(state.tokenRequests.length, 3, "exactly one fresh token");
    assert.deepStrictEqual(state.registryAuth.slice(4), ["Bearer tok2", "Bearer tok3"]);

    // The failure is not sticky: a later request starts over (one token, one retry).
    await assert.rejects(f(new Request(url)), AuthError);
    assert.equal(state.tokenRequests.length, 4);
    assert.equal(state.registryAuth.length, 8);
  });
});

Deno.test("withAuth: an expired token is not sent; a new one is fetched", async () => {
  const state = newState({ expiresIn: 20 });
  let clock = 1_000_000;
  await withRegistry(state, async (base, inner, registry) => {
    const f = withAuth(inner, {
      registry,
      credentials: anonymous,
      tokenFetcher: inner,
      clientId: "c",
      now: () => clock,
    });
    const url = `${base}/v2/app/manifests/1`;
    (await f(new Request(url))).body?.cancel();
    clock += 9_000; // still valid (renewed 10 s early: 20 - 10 = 10 s)
    (await f(new Request(url))).body?.cancel();
    assert.equal(state.tokenRequests.length, 1);
    clock += 2_000; // past expiry
    const res = await f(new Request(url));
    assert.equal(res.status, 200);
    await res.body?.cancel();
    assert.equal(state.tokenRequests.length, 2);
    assert.deepStrictEqual(state.registryAuth, [null, "Bearer tok1", "Bearer tok1", null, "Bearer tok2"]);
  });
});

Deno.test("withAuth: concurrent requests share one token request", async () => {
  const state = newState({ tokenDelayMs: 200 });
  await withRegistry(state, async (base, inner, registry) => {
    const f = withAuth(inner, { registry, credentials: anonymous, tokenFetcher: inner, clientId: "c" });
    const results = await Promise.all(
      Array.from(
        { length: 5 },
        (_, i) => f(new Request(`${base}/v2/app/blobs/sha256:${String(i).repeat(64)}`)),
      ),
    );
    for (const r of results) {
      assert.equal(r.status, 200);
      await r.body?.cancel();
    }
    assert.equal(state.tokenRequests.length, 1);
  });
});

Deno.test("withAuth: different repositories get tokens of their own scope", async () => {
  const state = newState();
  await withRegistry(state, async (base, inner, registry) => {
    const f = withAuth(inner, { registry, credentials: anonymous, tokenFetcher: inner, clientId: "c" });
    for (const repo of ["a", "b", "a"]) {
      const r = await f(new Request(`${base}/v2/${repo}/manifests/1`));
      assert.equal(r.status, 200);
      await r.body?.cancel();
    }
    assert.deepStrictEqual(state.tokenRequests.map((t) => t.url.searchParams.get("scope")), [
      "repository:a:pull",
      "repository:b:pull",
    ]);
  });
});

Deno.test("withAuth: Basic challenge answered with Basic credentials, then reused", async () => {
  const state = newState({ scheme: "basic" });
  await withRegistry(state, async (base, inner, registry) => {
    const f = withAuth(inner, { registry, credentials: basicCreds(), tokenFetcher: inner, clientId: "c" });
    const res = await f(new Request(`${base}/v2/app/manifests/1`));
    assert.equal(res.status, 200);
    await res.body?.cancel();
    const basic = `Basic ${btoa("user:pass")}`;
    assert.deepStrictEqual(state.registryAuth, [null, basic]);
    const again = await f(new Request(`${base}/v2/app/manifests/2`));
    assert.equal(again.status, 200);
    await again.body?.cancel();
    assert.deepStrictEqual(state.registryAuth, [null, basic, basic]);
    assert.equal(state.tokenRequests.length, 0);
  });
});

Deno.test("withAuth: no credentials and a Basic challenge is an AuthError saying where it looked", async () => {
  const state = newState({ scheme: "basic" });
  await withRegistry(state, async (base, inner, registry) => {
    const f = withAuth(inner, {
      registry,
      credentials: () =>
        Promise.resolve({
          searched: ["/home/u/.docker/config.json (absent)", "/run/user/1/containers/auth.json (absent)"],
        }),
      tokenFetcher: inner,
      clientId: "c",
    });
    await assert.rejects(f(new Request(`${base}/v2/app/manifests/1`)), (err: unknown) => {
      assert.ok(err instanceof AuthError, `${err}`);
      assert.equal(
        err.message,
        `${registry} requires authentication (Basic): no credentials found (looked in: /home/u/.docker/config.json (absent), /run/user/1/containers/auth.json (absent))`,
      );
      assert.match(err.hint ?? "", /docker login/);
      return true;
    });
    assert.equal(state.registryAuth.length, 1);
  });
});

Deno.test("withAuth: wrong Basic credentials are an AuthError after one retry", async () => {
  const state = newState({ scheme: "basic" });
  await withRegistry(state, async (base, inner, registry) => {
    const f = withAuth(inner, {
      registry,
      credentials: basicCreds("user", "wrong"),
      tokenFetcher: inner,
      clientId: "c",
    });
    await assert.rejects(f(new Request(`${base}/v2/app/manifests/1`)), (err: unknown) => {
      assert.ok(err instanceof AuthError, `${err}`);
      assert.match(err.message, /credentials from \/cfg\/config\.json auths were rejected/);
      assert.ok(!err.message.includes("wrong"), "the password is not in the message");
      return true;
    });
    assert.equal(state.registryAuth.length, 2);
    // Next request: the known-bad Basic header goes out once and the rejection is reported without a loop.
    await assert.rejects(f(new Request(`${base}/v2/app/manifests/1`)), AuthError);
    assert.ok(state.registryAuth.length <= 4, `${state.registryAuth.length} registry requests`);
  });
});

Deno.test("withAuth: preemptive Basic (ECR) sends credentials on the first request", async () => {
  const state = newState({ scheme: "basic" });
  await withRegistry(state, async (base, inner, registry) => {
    const f = withAuth(inner, {
      registry,
      credentials: () =>
        Promise.resolve({
          credential: {
            kind: "basic",
            username: "user",
            password: "pass",
            source: "ECR GetAuthorizationToken",
          },
          searched: ["ECR GetAuthorizationToken"],
        }),
      preemptiveBasic: true,
      tokenFetcher: inner,
      clientId: "c",
    });
    const res = await f(new Request(`${base}/v2/app/manifests/1`));
    assert.equal(res.status, 200);
    await res.body?.cancel();
    assert.deepStrictEqual(state.registryAuth, [`Basic ${btoa("user:pass")}`]);
    // The registry stops accepting them: one request, an AuthError, no retry loop.
    state.basicPass = "rotated";
    await assert.rejects(f(new Request(`${base}/v2/app/manifests/2`)), (err: unknown) => {
      assert.ok(err instanceof AuthError, `${err}`);
      assert.match(
        err.message,
        /rejected the credentials: credentials from ECR GetAuthorizationToken were rejected/,
      );
      return true;
    });
    assert.equal(state.registryAuth.length, 2);
  });
});

Deno.test("withAuth: the token service refusing access is an AuthError; a 5xx is a NetworkError", async () => {
  for (
    const [status, type, why] of [
      [401, AuthError, /token service of .* refused access to repository:app:pull/],
      [403, AuthError, /refused access/],
      [500, NetworkError, /token service http:\/\/127\.0\.0\.1:\d+ answered 500/],
    ] as const
  ) {
    const state = newState({ tokenStatus: status });
    await withRegistry(state, async (base, inner, registry) => {
      const f = withAuth(inner, { registry, credentials: anonymous, tokenFetcher: inner, clientId: "c" });
      await assert.rejects(f(new Request(`${base}/v2/app/manifests/1`)), (err: unknown) => {
        assert.ok(err instanceof type, `${status}: ${err}`);
        assert.match((err as Error).message, why);
        return true;
      });
      assert.equal(state.tokenRequests.length, 1);
    });
  }
});

/** A fake registry in-process: challenge header and token answer chosen by the test. */
function fakeAuthRegistry(challenge: string | null, tokenAnswer: () => Response) {
  const calls = { registry: 0, token: 0 };
  const next: Fetcher = (req) => {
    calls.registry++;
    if (req.headers.get("authorization")) return Promise.resolve(new Response("ok"));
    const headers = new Headers();
    if (challenge !== null) headers.set("www-authenticate", challenge);
    return Promise.resolve(new Response(null, { status: 401, headers }));
  };
  const tokenFetcher: Fetcher = () => {
    calls.token++;
    return Promise.resolve(tokenAnswer());
  };
  return { next, tokenFetcher, calls };
}

Deno.test("withAuth: malformed challenges and token answers are AuthErrors", async () => {
  const cases: [string | null, () => Response, RegExp][] = [
    [null, () => Response.json({ token: "t" }), /answered 401 with no usable challenge \(none\)/],
    ["Negotiate abc==", () => Response.json({ token: "t" }), /no usable challenge \(negotiate\)/],
    ['Bearer service="x"', () => Response.json({ token: "t" }), /Bearer challenge without a valid realm/],
    ['Bearer realm="not a url"', () => Response.json({ token: "t" }), /without a valid realm/],
    ['Bearer realm="file:///etc/passwd"', () => Response.json({ token: "t" }), /realm that is not http\(s\)/],
    ['Bearer realm="https://auth.example/token"', () => new Response("<html>"), /not JSON/],
    ['Bearer realm="https://auth.example/token"', () => Response.json({ nope: 1 }), /without a token/],
    ['Bearer realm="https://auth.example/token"', () => Response.json({ token: "" }), /without a token/],
    ['Bearer realm="https://auth.example/token"', () => Response.json({ token: 5 }), /without a token/],
  ];
  for (const [challenge, answer, why] of cases) {
    const reg = fakeAuthRegistry(challenge, answer);
    const f = withAuth(reg.next, {
      registry: "r.example",
      credentials: anonymous,
      tokenFetcher: reg.tokenFetcher,
      clientId: "c",
    });
    await assert.rejects(f(new Request("https://r.example/v2/app/manifests/1")), (err: unknown) => {
      assert.ok(err instanceof AuthError, `${challenge}: ${err}`);
      assert.match(err.message, why);
      return true;
    });
    assert.equal(reg.calls.registry, 1, `${challenge}: no retry without a usable token`);
  }
});

Deno.test("withAuth: an oversized token answer is refused", async () => {
  const reg = fakeAuthRegistry(
    'Bearer realm="https://auth.example/token"',
    () => new Response(JSON.stringify({ token: "x".repeat(MAX_TOKEN_BYTES + 10) })),
  );
  const f = withAuth(reg.next, {
    registry: "r.example",
    credentials: anonymous,
    tokenFetcher: reg.tokenFetcher,
    clientId: "c",
  });
  await assert.rejects(f(new Request("https://r.example/v2/app/manifests/1")), TooLargeError);
});

Deno.test("withAuth: responses other than 401 pass through without touching credentials", async () => {
  let looked = 0;
  const next: Fetcher = () => Promise.resolve(new Response("nope", { status: 404 }));
  const f = withAuth(next, {
    registry: "r.example",
    credentials: () => {
      looked++;
      return Promise.resolve({ searched: [] });
    },
    tokenFetcher: next,
    clientId: "c",
  });
  const res = await f(new Request("https://r.example/v2/app/manifests/1"));
  assert.equal(res.status, 404);
  await res.body?.cancel();
  assert.equal(looked, 0, "credentials are looked up only when a challenge needs them");
});

// ---------------------------------------------------------------------------------------------------------------
// capped body reads

Deno.test("readCapped: reads a body up to and including the cap", async () => {
  assert.deepStrictEqual(await readCapped(new Response("hello"), 5, "thing"), enc.encode("hello"));
  assert.deepStrictEqual(await readCapped(new Response(null), 5, "thing"), new Uint8Array(0));
  assert.deepStrictEqual(await readCapped(new Response(""), 0, "thing"), new Uint8Array(0));
});

Deno.test("readCapped: a declared Content-Length over the cap is refused before reading", async () => {
  let pulled = 0;
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      pulled++;
      c.enqueue(new Uint8Array(10));
    },
    cancel() {
      cancelled = true;
    },
  }, { highWaterMark: 0 });
  const res = new Response(body, { headers: { "content-length": String(5 * 1024 * 1024) } });
  await assert.rejects(readCapped(res, 4 * 1024 * 1024, "manifest"), (err: unknown) => {
    assert.ok(err instanceof TooLargeError, `${err}`);
    assert.equal(err.message, `manifest is larger than the 4 MiB limit (declared ${5 * 1024 * 1024} bytes)`);
    return true;
  });
  assert.equal(pulled, 0, "nothing was read");
  assert.ok(cancelled, "the body was cancelled");
});

Deno.test("readCapped: an endless stream is abandoned as soon as it passes the cap", async () => {
  let pulled = 0;
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      pulled++;
      c.enqueue(new Uint8Array(1024));
    },
    cancel() {
      cancelled = true;
    },
  }, { highWaterMark: 0 });
  await assert.rejects(readCapped(new Response(body), 10 * 1024, "config"), (err: unknown) => {
    assert.ok(err instanceof TooLargeError, `${err}`);
    assert.match(err.message, /^config is larger than the 0\.0 MiB limit$/);
    return true;
  });
  assert.ok(pulled <= 12, `${pulled} chunks were read`);
  assert.ok(cancelled);
});

Deno.test("readCapped: a lying Content-Length (smaller than the body) does not lift the cap", async () => {
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < 100; i++) c.enqueue(new Uint8Array(100));
      c.close();
    },
  });
  await assert.rejects(
    readCapped(new Response(body, { headers: { "content-length": "10" } }), 1000, "x"),
    TooLargeError,
  );
});

Deno.test("readCapped: a compressed body is read chunk by chunk: its Content-Length does not bound what it decodes to", async () => {
  // What the runtime hands over is the decoded body (a small gzip of zeros decodes to gigabytes): it must be
  // abandoned at the cap, not read whole because a small length was declared.
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (++pulled > 10_000) c.close();
      else c.enqueue(new Uint8Array(1024));
    },
  });
  const res = new Response(body, { headers: { "content-length": "100", "content-encoding": "gzip" } });
  await assert.rejects(readCapped(res, 8 * 1024, "manifest"), TooLargeError);
  assert.ok(pulled < 100, `read ${pulled} chunks of a body past its cap`);
});

/**
 * A raw HTTP server on 127.0.0.1 that reads each request and answers it with `respond` (which writes the
 * status line, headers and body as it likes; the client going away ends it), for `fn` with its URL. The
 * listener is closed and every answer has ended when this returns.
 */
async function withRawHttp(respond: (conn: Deno.Conn) => Promise<void>, fn: (url: string) => Promise<void>) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    for await (const conn of listener) {
      await conn.read(new Uint8Array(4096)).catch(() => null);
      await respond(conn).catch(() => {}); // the client went away
      conn.close();
    }
  })().catch(() => {});
  try {
    await fn(`http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}/x`);
  } finally {
    listener.close();
    await serving;
  }
}

Deno.test("readCapped: over real HTTP, a Content-Length beside a Transfer-Encoding does not lift the cap", async () => {
  // Transfer-Encoding frames the body (by chunks, or until the connection closes), whatever Content-Length
  // says: such a body is read chunk by chunk and abandoned at the cap, not read whole.
  for (const encoding of ["chunked", "identity"]) {
    let sent = 0;
    await withRawHttp(async (conn) => {
      await conn.write(
        enc.encode(`HTTP/1.1 200 OK\r\nContent-Length: 10\r\nTransfer-Encoding: ${encoding}\r\n\r\n`),
      );
      const chunk = new Uint8Array(256 * 1024).fill(0x41);
      const framed = encoding === "chunked" ? chunkFrame(chunk) : chunk;
      for (; sent < 64 * 1024 * 1024; sent += chunk.length) await writeAll(conn, framed);
    }, async (url) => {
      await withBase(async (inner) => {
        const res = await inner(new Request(url));
        assert.equal(res.headers.get("content-length"), "10", encoding);
        await assert.rejects(readCapped(res, 1024 * 1024, "manifest"), TooLargeError);
      });
    });
    assert.ok(
      sent < 16 * 1024 * 1024,
      `${encoding}: the server got ${sent} bytes out before the read stopped`,
    );
  }
});

Deno.test("readCapped: a body that breaks off is read whole again only from an answer framed by its length", async () => {
  // The first answer breaks off; the one sent again claims the same representation but is chunked and endless:
  // it is no body to read whole.
  const req = new Request("https://r.example/v2/app/blobs/sha256:x");
  const headers = { "content-length": "100", etag: '"x"' };
  const broken = new Response(
    new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new Uint8Array(10));
        c.error(new TypeError("connection reset"));
      },
    }),
    { headers },
  );
  let pulled = 0;
  markResumable(req, broken, () =>
    Promise.resolve(
      new Response(
        new ReadableStream<Uint8Array>({
          pull(c) {
            if (++pulled > 10_000) c.close();
            else c.enqueue(new Uint8Array(1024));
          },
        }),
        { headers: { ...headers, "transfer-encoding": "chunked" } },
      ),
    ));
  await assert.rejects(readCapped(broken, 1000, "blob"), NetworkError);
  assert.ok(pulled < 100, `read ${pulled} chunks of the answer sent again`);
});

Deno.test("readCapped exact: over real HTTP, read into one buffer; longer is refused at the first byte past it, shorter is given as it is", async () => {
  const body = new Uint8Array(300 * 1024).map((_, i) => i % 251);
  for (const framing of ["length", "chunked"] as const) {
    await withRawHttp(async (conn) => {
      const head = framing === "length" ? `Content-Length: ${body.length}` : "Transfer-Encoding: chunked";
      await conn.write(enc.encode(`HTTP/1.1 200 OK\r\n${head}\r\n\r\n`));
      if (framing === "length") return await writeAll(conn, body);
      for (let at = 0; at < body.length; at += 64 * 1024) {
        await writeAll(conn, chunkFrame(body.subarray(at, at + 64 * 1024)));
      }
      await writeAll(conn, enc.encode("0\r\n\r\n"));
    }, async (url) => {
      await withBase(async (inner) => {
        // Exactly the size expected.
        assert.deepStrictEqual(
          await readCapped(await inner(new Request(url)), body.length, "blob", { exact: true }),
          body,
          framing,
        );
        // Shorter than expected: the bytes there are (the caller's size check reports it).
        const longer = await readCapped(await inner(new Request(url)), body.length + 10, "blob", {
          exact: true,
        });
        assert.deepStrictEqual(longer, body, framing);
      });
    });
  }
  // Longer than expected, and endless: refused, and reading stops there.
  let sent = 0;
  await withRawHttp(async (conn) => {
    await conn.write(enc.encode("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"));
    const chunk = new Uint8Array(256 * 1024).fill(0x41);
    const framed = chunkFrame(chunk);
    for (; sent < 64 * 1024 * 1024; sent += chunk.length) await writeAll(conn, framed);
  }, async (url) => {
    await withBase(async (inner) => {
      await assert.rejects(
        readCapped(await inner(new Request(url)), 1000, "blob", { exact: true }),
        TooLargeError,
      );
    });
  });
  assert.ok(sent < 16 * 1024 * 1024, `the server got ${sent} bytes out before the read stopped`);
});

Deno.test("readCapped exact: a body that breaks off is read again from its start, once, and no further than its size", async () => {
  const req = new Request("https://r.example/v2/app/blobs/sha256:x");
  const headers = { "content-length": "8", etag: '"x"' };
  const whole = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
  // A byte stream (as the runtime's bodies are) that gives `first`, then breaks off or goes on without end.
  const bytes = (first: Uint8Array, then: "break" | "endless" | "end") => {
    let pulls = 0;
    const stream = new ReadableStream({
      type: "bytes",
      pull(c) {
        if (pulls++ === 0) return c.enqueue(first.slice());
        if (then === "break") return c.error(new TypeError("connection reset"));
        if (then === "end") {
          // A reader waiting with its buffer gets it back, empty, once the stream is closed.
          c.close();
          return c.byobRequest?.respond(0);
        }
        c.enqueue(new Uint8Array(1024));
      },
    });
    return { stream, pulls: () => pulls };
  };
  // Broken after 3 bytes; the answer sent again gives all 8: exactly those, not a splice.
  const broken = new Response(bytes(whole.subarray(0, 3), "break").stream, { headers });
  let resent = 0;
  markResumable(req, broken, () => {
    // The real resend spends the retry budget; this one would not stop a loop.
    if (++resent > 1) return Promise.reject(new TypeError("sent again more than once"));
    return Promise.resolve(new Response(bytes(whole, "end").stream, { headers }));
  });
  assert.deepStrictEqual(await readCapped(broken, 8, "blob", { exact: true }), whole);
  assert.equal(resent, 1);
  // The answer sent again goes on past the size: refused, after reading one byte past it.
  const again = bytes(whole, "endless");
  const broken2 = new Response(bytes(whole.subarray(0, 3), "break").stream, { headers });
  markResumable(req, broken2, () => Promise.resolve(new Response(again.stream, { headers })));
  await assert.rejects(readCapped(broken2, 8, "blob", { exact: true }), TooLargeError);
  assert.ok(again.pulls() <= 2, `${again.pulls()} pulls of the answer sent again`);
  // Not marked resumable: the break is the error.
  const broken3 = new Response(bytes(whole.subarray(0, 3), "break").stream, { headers });
  await assert.rejects(readCapped(broken3, 8, "blob", { exact: true }), /connection reset/);
});

Deno.test("readCapped: over real HTTP, a body is framed by its Content-Length: what comes after is not read", async () => {
  // A body of declared length is read whole by the runtime; HTTP's framing is what bounds it.
  await withRawHttp(async (conn) => {
    await conn.write(enc.encode("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"));
    for (let i = 0; i < 64; i++) await conn.write(new Uint8Array(64 * 1024).fill(0x41));
  }, async (url) => {
    await withBase(async (inner) => {
      const res = await inner(new Request(url));
      assert.deepStrictEqual(await readCapped(res, 1024 * 1024, "manifest"), new Uint8Array(10).fill(0x41));
    });
  });
});

Deno.test("readCapped: over real HTTP, by Content-Length and by streaming", async () => {
  const big = new Uint8Array(3 * 1024 * 1024);
  await withServer((req) => {
    const u = new URL(req.url);
    if (u.pathname === "/declared") return new Response(big);
    // Chunked: no Content-Length, endless.
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        sent += 64 * 1024;
        if (sent > 64 * 1024 * 1024) c.close();
        else c.enqueue(new Uint8Array(64 * 1024));
      },
    });
    return new Response(stream);
  }, async ({ base }) => {
    await withBase(async (inner) => {
      const declared = await inner(new Request(`${base}/declared`));
      assert.equal(declared.headers.get("content-length"), String(big.byteLength));
      await assert.rejects(readCapped(declared, 1024 * 1024, "manifest"), /declared 3145728 bytes/);
      const streamed = await inner(new Request(`${base}/stream`));
      assert.equal(streamed.headers.get("content-length"), null);
      await assert.rejects(readCapped(streamed, 1024 * 1024, "manifest"), (err: unknown) => {
        return err instanceof TooLargeError && /^manifest is larger than the 1 MiB limit$/.test(err.message);
      });
      const ok = await inner(new Request(`${base}/declared`));
      assert.equal((await readCapped(ok, big.byteLength, "blob")).byteLength, big.byteLength);
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// baseFetcher and network errors

Deno.test("baseFetcher: sets a User-Agent, keeps a caller's, and does not follow redirects", async () => {
  const agents: (string | null)[] = [];
  await withServer((req) => {
    agents.push(req.headers.get("user-agent"));
    return new Response(null, { status: 302, headers: { location: "/elsewhere" } });
  }, async ({ base }) => {
    await withBase(async (f) => {
      const res = await f(new Request(`${base}/x`));
      assert.equal(res.status, 302);
      assert.equal(res.headers.get("location"), "/elsewhere");
      await res.body?.cancel();
      const own = await f(new Request(`${base}/x`, { headers: { "user-agent": "mine/2" } }));
      await own.body?.cancel();
    });
  });
  assert.deepStrictEqual(agents, ["transport-test/1", "mine/2"]);
});

Deno.test("baseFetcher: connection refused is a NetworkError naming the origin", async () => {
  const port = freePort();
  await withBase(async (f) => {
    await assert.rejects(
      f(new Request(`http://127.0.0.1:${port}/v2/?X-Amz-Signature=sekrit`)),
      (err: unknown) => {
        assert.ok(err instanceof NetworkError, `${err}`);
        assert.equal(err.message, `connection refused by http://127.0.0.1:${port}`);
        assert.equal(err.failure, "refused");
        assert.ok(err.transient, "a refused connection is worth another try");
        assert.ok(!err.oneLine().includes("sekrit"));
        return true;
      },
    );
  });
});

Deno.test("baseFetcher: https to a plain HTTP server says it does not speak TLS", async () => {
  await withServer(() => new Response("plain"), async ({ port }) => {
    await withBase(async (f) => {
      await assert.rejects(f(new Request(`https://127.0.0.1:${port}/v2/`)), (err: unknown) => {
        assert.ok(err instanceof NetworkError, `${err}`);
        assert.equal(err.message, `https://127.0.0.1:${port} does not speak TLS`);
        assert.equal(err.advice, "plain-http");
        assert.equal(err.transient, false);
        return true;
      });
    });
  });
});

Deno.test("baseFetcher: an aborted deadline is a TimeoutError", async () => {
  await withServer(async () => {
    await sleep(300);
    return new Response("late");
  }, async ({ base }) => {
    const controller = new AbortController();
    const f = baseFetcher({ userAgent: "t", signal: controller.signal });
    try {
      const p = f(new Request(`${base}/slow`));
      setTimeout(() => controller.abort(), 20);
      await assert.rejects(
        p,
        (err: unknown) =>
          err instanceof TimeoutError && /timed out talking to http:\/\/127\.0\.0\.1/.test(err.message),
      );
    } finally {
      f.close();
    }
    await sleep(350); // let the handler finish before shutdown
  });
});

Deno.test("networkError: runtime messages map to one-line errors without URLs", () => {
  const url = "https://bucket.s3.example/layer?X-Amz-Signature=sekrit";
  const wrap = (msg: string) =>
    new TypeError(`error sending request for url (${url}): client error (Connect)`, {
      cause: new Error(msg),
    });
  const cases: [unknown, RegExp, typeof NetworkError | typeof TimeoutError][] = [
    [
      wrap("dns error: failed to lookup address information: Name or service not known"),
      /^cannot resolve the registry host of https:\/\/bucket\.s3\.example$/,
      NetworkError,
    ],
    [
      wrap("invalid peer certificate: UnknownIssuer"),
      /^TLS failure talking to https:\/\/bucket\.s3\.example: /,
      NetworkError,
    ],
    [wrap("received corrupt message of type InvalidContentType"), /does not speak TLS$/, NetworkError],
    [
      wrap("tcp connect error: Connection refused (os error 111)"),
      /^connection refused by https:\/\/bucket\.s3\.example$/,
      NetworkError,
    ],
    [
      wrap("connection reset by peer"),
      /^connection to https:\/\/bucket\.s3\.example was interrupted: /,
      NetworkError,
    ],
    [wrap("something else entirely"), /^request to https:\/\/bucket\.s3\.example failed: /, NetworkError],
    [
      new DOMException("The signal has been aborted", "AbortError"),
      /^timed out talking to https:\/\/bucket\.s3\.example$/,
      TimeoutError,
    ],
    [new DOMException("Signal timed out.", "TimeoutError"), /^timed out/, TimeoutError],
    [
      "a string was thrown",
      /^request to https:\/\/bucket\.s3\.example failed: a string was thrown$/,
      NetworkError,
    ],
  ];
  for (const [err, why, type] of cases) {
    const out = networkError(err, url);
    assert.ok(out instanceof type, `${err}: ${out}`);
    assert.match(out.message, why);
    assert.ok(!out.message.includes("sekrit"), out.message);
    assert.ok(!(out as NetworkError).oneLine().includes("\n"));
  }
  const already = new NetworkError("x");
  assert.equal(networkError(already, url), already);
  const aborted = AbortSignal.abort();
  assert.ok(networkError(new Error("whatever"), url, aborted) instanceof TimeoutError);
});

Deno.test("networkError: very long runtime messages are shortened", () => {
  const out = networkError(new Error("x ".repeat(5000)), "https://r.example/");
  assert.ok(out.message.length < 300, `${out.message.length}`);
});

Deno.test("safeOrigin drops path, query and user info", () => {
  assert.equal(safeOrigin("https://u:p@r.example:444/v2/x?sig=1"), "https://r.example:444");
  assert.equal(safeOrigin("::"), "<invalid url>");
});
