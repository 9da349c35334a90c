/**
 * Reliability against a misbehaving network, end to end: the CLI runs as a subprocess against a real
 * registry behind the fault-injecting proxy of `support/fault_proxy.ts`, and every case checks the exit code,
 * stdout (empty on failure), the one-line message, and how many requests the proxy saw.
 */

import assert from "node:assert/strict";
import {
  assertOneLineFailure as failed,
  cli as runTool,
  CLI_BIN,
  type CliResult,
  type RunCliOptions,
} from "./support/cli.ts";
import {
  type FaultProxy,
  faults,
  type ProxyRequest,
  type RequestKind,
  startFaultProxy,
} from "./support/fault_proxy.ts";
import { type Catalog, MediaTypes, seedImages } from "./support/images.ts";
import { sha256Digest } from "./support/push.ts";
import { startRegistry } from "./support/registry.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const MiB = 1024 * 1024;

interface Run extends CliResult {
  ms: number;
}

/** Extra time allowed for process start-up on a loaded machine (the suite runs test files in parallel). */
const SLACK_MS = 1500;

/** Longest any single run may take; a run still going then is a hang, and is killed. */
const HANG_LIMIT_MS = 30_000;

/**
 * `runCli`, with a watchdog: these tests provoke exactly the situations in which a careless client hangs, and
 * a hang must fail the test rather than stall the suite.
 */
function runBounded(args: string[], opts: RunCliOptions = {}): Promise<CliResult> {
  return runTool(args, { ...opts, hangLimitMs: HANG_LIMIT_MS });
}

/** The waits between retries of the last in-process run (ms), recorded instead of slept. */
let waits: number[] = [];
const recordWait = (ms: number) => {
  waits.push(ms);
  return Promise.resolve();
};

/**
 * Run the CLI against the proxy (plain HTTP unless `tls`), then wait for the proxy to finish its side. Waits
 * between retries are recorded in {@link waits}, not slept, unless `realSleep` (a deadline test needs the time
 * to pass).
 */
async function cli(
  proxy: FaultProxy,
  args: string[],
  opts: { tls?: boolean; env?: Record<string, string>; realSleep?: boolean } = {},
): Promise<Run> {
  const started = performance.now();
  waits = [];
  const r = await runBounded(
    [...args, ...(opts.tls ? ["--ca-file", proxy.caCertFile!] : ["--plain-http"])],
    { env: opts.env, sleep: opts.realSleep ? undefined : recordWait },
  );
  const ms = performance.now() - started;
  await proxy.settled();
  return { ...r, ms };
}

function ok(r: Run, expected: Uint8Array): void {
  assert.equal(r.code, 0, `expected success, got ${r.code}: ${r.stderr}`);
  assert.equal(sha256Digest(r.stdout), sha256Digest(expected), "stdout is not the expected bytes");
}

function count(proxy: FaultProxy, scenario: string, kind?: RequestKind): number {
  return proxy.requests(scenario, kind).length;
}

function manifestReply(body: Uint8Array, mediaType: string) {
  return {
    status: 200,
    headers: { "content-type": mediaType, "docker-content-digest": sha256Digest(body) },
    body,
  };
}

Deno.test("reliability: retries, timeouts, redirects, limits and bad content through a fault proxy", async (t) => {
  await using reg = await startRegistry({ auth: "none" });
  const catalog: Catalog = await seedImages(reg);
  await using proxy = await startFaultProxy(reg, { tls: true });
  const oci = catalog.oci;
  const manifestOf = (scenario: string) => ["get_manifest", "-u", proxy.ref(scenario, oci.reference)];
  const configOf = (scenario: string) => ["get_digest_metadata", "-u", proxy.ref(scenario, oci.reference)];

  await t.step("pass-through: the proxy itself is transparent (2 requests)", async () => {
    proxy.scenario("pass", faults.pass);
    ok(await cli(proxy, configOf("pass")), oci.configBytes);
    assert.equal(count(proxy, "pass", "manifests"), 1);
    assert.equal(count(proxy, "pass", "blobs"), 1);
  });

  await t.step("429 with Retry-After: 1 is retried after about a second", async () => {
    proxy.scenario("ra429", faults.statusTimes(429, 1, { headers: { "retry-after": "1" } }));
    ok(await cli(proxy, manifestOf("ra429")), oci.manifestBytes);
    const reqs = proxy.requests("ra429", "manifests");
    assert.equal(reqs.length, 2);
    assert.deepEqual(reqs.map((r) => r.status), [429, 200]);
    if (CLI_BIN) {
      const waited = reqs[1].at - reqs[0].at;
      assert.ok(waited >= 950, `retried after ${Math.round(waited)} ms, Retry-After said 1 s`);
    } else {
      assert.deepEqual(waits, [1000], "waited what Retry-After said");
    }
  });

  await t.step("503 with Retry-After as an HTTP date is honoured too", async () => {
    proxy.scenario(
      "radate",
      (req, tools) =>
        req.kind === "manifests" && req.n === 1
          ? { status: 503, headers: { "retry-after": new Date(Date.now() + 2000).toUTCString() } }
          : tools.forward(req),
    );
    ok(await cli(proxy, manifestOf("radate")), oci.manifestBytes);
    const reqs = proxy.requests("radate", "manifests");
    assert.equal(reqs.length, 2);
    const waited = CLI_BIN ? reqs[1].at - reqs[0].at : waits[0];
    assert.ok(
      waited >= 900 && waited <= 2100,
      `waited ${Math.round(waited)} ms, Retry-After named a date 1-2 s ahead`,
    );
  });

  await t.step("a huge Retry-After cannot outlive --timeout", async () => {
    proxy.scenario("ralong", faults.statusTimes(429, Infinity, { headers: { "retry-after": "3600" } }));
    const r = await cli(proxy, [...manifestOf("ralong"), "--timeout", "2"], { realSleep: true });
    failed(r, /timed out/);
    assert.ok(r.ms < 4000 + SLACK_MS, `took ${Math.round(r.ms)} ms with --timeout 2`);
    assert.equal(count(proxy, "ralong", "manifests"), 1);
  });

  await t.step("503 once, then success (manifest 2 requests, config 1)", async () => {
    proxy.scenario("once503", faults.statusTimes(503, 1));
    ok(await cli(proxy, configOf("once503")), oci.configBytes);
    assert.equal(count(proxy, "once503", "manifests"), 2);
    assert.equal(count(proxy, "once503", "blobs"), 1);
  });

  await t.step(
    "408, 502 and 504 on the config blob are retried too (the default 3 retries suffice)",
    async () => {
      const statuses = [408, 502, 504];
      proxy.scenario(
        "blob5xx",
        (req, tools) =>
          req.kind === "blobs" && req.n <= statuses.length
            ? { status: statuses[req.n - 1] }
            : tools.forward(req),
      );
      ok(await cli(proxy, configOf("blob5xx")), oci.configBytes);
      assert.deepEqual(
        proxy.requests("blob5xx", "blobs").map((e) => e.status),
        [...statuses, 200],
      );
    },
  );

  await t.step("a connection closed before any answer is retried", async () => {
    proxy.scenario(
      "drop",
      (req, tools) => req.kind === "manifests" && req.n === 1 ? "drop" : tools.forward(req),
    );
    ok(await cli(proxy, manifestOf("drop")), oci.manifestBytes);
    assert.deepEqual(proxy.requests("drop", "manifests").map((e) => e.status), [undefined, 200]);
  });

  await t.step("connection cut mid-body, then success on the retry (manifest)", async () => {
    proxy.scenario("cutmanifest", faults.truncateTimes(1, "manifests"));
    ok(await cli(proxy, configOf("cutmanifest")), oci.configBytes);
    const reqs = proxy.requests("cutmanifest", "manifests");
    assert.equal(reqs.length, 2);
    assert.ok(reqs[0].bodyBytesSent > 0 && reqs[0].bodyBytesSent < oci.manifestBytes.byteLength);
  });

  await t.step("connection cut mid-body, then success on the retry (config blob)", async () => {
    proxy.scenario("cutblob", faults.truncateTimes(1, "blobs"));
    ok(await cli(proxy, configOf("cutblob")), oci.configBytes);
    assert.equal(count(proxy, "cutblob", "manifests"), 1);
    assert.equal(count(proxy, "cutblob", "blobs"), 2);
  });

  await t.step(
    "cut mid-body, and the retry serves another object: an error, never a splice of the two",
    async () => {
      proxy.scenario("cutchanged", async (req, tools) => {
        const r = await tools.forward(req);
        if (req.kind !== "manifests") return r;
        if (req.n === 1) return { ...r, sendBytes: Math.floor(r.body.byteLength / 2) };
        // Same length, other content: what a tag moved between the two attempts looks like.
        const other = r.body.map((b) => b === 0x61 ? 0x62 : b);
        r.headers.set("docker-content-digest", sha256Digest(other));
        r.headers.set("etag", `"${sha256Digest(other)}"`);
        return { ...r, body: other };
      });
      const r = await cli(proxy, manifestOf("cutchanged"));
      failed(r, /interrupted/);
      assert.equal(count(proxy, "cutchanged", "manifests"), 2);
    },
  );

  await t.step("a body always shorter than its Content-Length: clear error after the retries", async () => {
    proxy.scenario("short", faults.truncateTimes(Infinity, "manifests"));
    const r = await cli(proxy, [...manifestOf("short"), "--retries", "1"]);
    failed(r, /interrupted|closed|incomplete|end of file|short/i);
    assert.equal(count(proxy, "short", "manifests"), 2);
  });

  await t.step("a short config blob with --retries 0: one request, clear error", async () => {
    proxy.scenario("shortblob", faults.truncateTimes(Infinity, "blobs"));
    const r = await cli(proxy, [...configOf("shortblob"), "--retries", "0"]);
    failed(r, /interrupted|closed|incomplete|end of file|short/i);
    assert.equal(count(proxy, "shortblob", "blobs"), 1);
  });

  await t.step("headers, then a stall: --timeout 3 ends the run with a timeout in < 5 s", async () => {
    proxy.scenario("stall", faults.stallAfterHeaders("manifests"));
    const r = await cli(proxy, [...manifestOf("stall"), "--timeout", "3"]);
    failed(r, /timed out/);
    const reqs = proxy.requests("stall", "manifests");
    assert.equal(reqs.length, 1);
    assert.equal(reqs[0].status, 200);
    assert.equal(reqs[0].bodyBytesSent, 0);
    assert.ok(reqs[0].clientClosed, "the client should have hung up");
    // The deadline runs from the start of the run, so the stalled request lasts a little under 3 s. The whole
    // run, process start-up included, is allowed some slack for a loaded machine.
    const stalled = reqs[0].endedAt! - reqs[0].at;
    assert.ok(stalled >= 2000 && stalled < 3500, `the stalled request lasted ${Math.round(stalled)} ms`);
    assert.ok(r.ms < 5000 + SLACK_MS, `took ${Math.round(r.ms)} ms with --timeout 3`);
  });

  await t.step("no answer at all (stall before the headers) also ends at --timeout", async () => {
    proxy.scenario("silent", faults.serve("manifests", "stall"));
    const r = await cli(proxy, [...manifestOf("silent"), "--timeout", "2"]);
    failed(r, /timed out/);
    assert.ok(r.ms < 4000 + SLACK_MS, `took ${Math.round(r.ms)} ms with --timeout 2`);
    const reqs = proxy.requests("silent", "manifests");
    assert.equal(reqs.length, 1);
    assert.equal(reqs[0].status, undefined, "nothing was answered");
    assert.ok(reqs[0].endedAt! - reqs[0].at < 2500);
  });

  await t.step("500 forever with --retries 2: exactly 3 attempts, then exit 1", async () => {
    proxy.scenario("fail500", faults.statusTimes(500, Infinity));
    const r = await cli(proxy, [...manifestOf("fail500"), "--retries", "2"]);
    failed(r, /answered 500/);
    assert.equal(count(proxy, "fail500", "manifests"), 3);
  });

  await t.step("503 forever with --retries 0: exactly one attempt", async () => {
    proxy.scenario("noretry", faults.statusTimes(503, Infinity));
    const r = await cli(proxy, [...manifestOf("noretry"), "--retries", "0"]);
    failed(r, /answered 503/);
    assert.equal(count(proxy, "noretry", "manifests"), 1);
  });

  await t.step("500 forever with many retries is still bounded by --timeout", async () => {
    proxy.scenario("fail500long", faults.statusTimes(500, Infinity));
    const r = await cli(proxy, [...manifestOf("fail500long"), "--retries", "20", "--timeout", "2"]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout.byteLength, 0);
    assert.match(r.stderr, /timed out|answered 500/);
    assert.ok(r.ms < 4000 + SLACK_MS, `took ${Math.round(r.ms)} ms with --timeout 2`);
    const reqs = proxy.requests("fail500long", "manifests");
    assert.ok(reqs.length >= 2 && reqs.length <= 21, `${reqs.length} attempts`);
    assert.ok(reqs.at(-1)!.at - reqs[0].at < 2000, "no attempt after the deadline");
  });

  await t.step("404 is not retried (1 request)", async () => {
    proxy.scenario("notfound", faults.pass);
    const r = await cli(proxy, ["get_manifest", "-u", proxy.ref("notfound", "test/oci:no-such-tag")]);
    failed(r, /not found/);
    assert.equal(count(proxy, "notfound", "manifests"), 1);
  });

  await t.step("400 and 403 are not retried either", async () => {
    proxy.scenario("s400", faults.statusTimes(400, Infinity));
    failed(await cli(proxy, manifestOf("s400")), /answered 400/);
    assert.equal(count(proxy, "s400", "manifests"), 1);
    proxy.scenario("s403", faults.statusTimes(403, Infinity));
    failed(await cli(proxy, manifestOf("s403")), /forbidden/);
    assert.equal(count(proxy, "s403", "manifests"), 1);
  });

  await t.step("manifest bytes that differ from Docker-Content-Digest: digest mismatch", async () => {
    proxy.scenario(
      "tamper",
      faults.editBody("manifests", (b) => enc.encode(dec.decode(b).replace("{", "{ "))),
    );
    const r = await cli(proxy, manifestOf("tamper"));
    failed(r, /digest .*does not match.*Docker-Content-Digest/);
    assert.equal(count(proxy, "tamper", "manifests"), 1);
  });

  await t.step(
    "manifest fetched by digest whose bytes differ from that digest: digest mismatch",
    async () => {
      proxy.scenario(
        "tamperdigest",
        faults.editBody("manifests", (b, h) => {
          h.delete("docker-content-digest");
          return enc.encode(dec.decode(b).replace("{", "{ "));
        }),
      );
      const r = await cli(proxy, [
        "get_manifest",
        "-u",
        proxy.ref("tamperdigest", oci.digestReference),
      ]);
      failed(r, new RegExp(`does not match expected ${oci.manifestDigest}`));
      assert.equal(count(proxy, "tamperdigest", "manifests"), 1);
    },
  );

  await t.step(
    "a tag's manifest without Docker-Content-Digest: printed, with a --verbose warning",
    async () => {
      proxy.scenario(
        "nodigest",
        faults.editBody("manifests", (b, h) => {
          h.delete("docker-content-digest");
          return b;
        }),
      );
      const r = await cli(proxy, ["get_manifest", "-u", proxy.ref("nodigest", oci.reference), "-v"]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.stdout, oci.manifestBytes);
      assert.match(r.stderr, new RegExp(`without Docker-Content-Digest; pin it as @${oci.manifestDigest}`));
    },
  );

  await t.step("a config blob longer than its descriptor's size is an error", async () => {
    proxy.scenario("longblob", faults.editBody("blobs", (b) => new Uint8Array([...b, 0x20, 0x20])));
    const r = await cli(proxy, configOf("longblob"));
    failed(r, /longer than the descriptor's size/);
    assert.equal(count(proxy, "longblob", "blobs"), 1);
  });

  await t.step(
    "a config blob shorter than its descriptor's size (honest Content-Length) is an error",
    async () => {
      proxy.scenario("shortdesc", faults.editBody("blobs", (b) => b.slice(0, -1)));
      const r = await cli(proxy, configOf("shortdesc"));
      failed(r, /size \d+ does not match the descriptor's size/);
    },
  );

  await t.step("a 5 MiB manifest streamed without length is refused while reading", async () => {
    // A chunked body that never ends after 5 MiB: only a reader that stops at the cap gets out of this
    // before --timeout.
    const body = new Uint8Array(5 * MiB).fill(0x20);
    proxy.scenario(
      "huge",
      faults.serve("manifests", {
        status: 200,
        headers: { "content-type": MediaTypes.ociManifest },
        body,
        contentLength: "chunked",
        then: "hold",
      }),
    );
    const r = await cli(proxy, [...manifestOf("huge"), "--timeout", "20"]);
    failed(r, /manifest is larger than the 4 MiB limit/);
    assert.ok(r.ms < 10_000, `took ${Math.round(r.ms)} ms`);
    const reqs = proxy.requests("huge", "manifests");
    assert.equal(reqs.length, 1);
    assert.ok(reqs[0].clientClosed, "the proxy should have seen the client stop reading and hang up");
  });

  await t.step(
    "a 5 MiB manifest, chunked beside a small Content-Length, is refused while reading",
    async () => {
      // The chunked framing rules, whatever the length says: the body is read chunk by chunk up to the cap,
      // not whole (which would hold on until --timeout, buffering all it is sent).
      const body = new Uint8Array(5 * MiB).fill(0x20);
      proxy.scenario(
        "hugete",
        faults.serve("manifests", {
          status: 200,
          headers: { "content-type": MediaTypes.ociManifest },
          body,
          contentLength: "chunked",
          alsoDeclare: 100,
          then: "hold",
        }),
      );
      const r = await cli(proxy, [...manifestOf("hugete"), "--timeout", "20"]);
      failed(r, /manifest is larger than the 4 MiB limit;/);
      assert.ok(r.ms < 10_000, `took ${Math.round(r.ms)} ms`);
    },
  );

  await t.step("a 5 MiB manifest with a Content-Length is refused before reading", async () => {
    const body = new Uint8Array(5 * MiB).fill(0x20);
    proxy.scenario("hugecl", faults.serve("manifests", manifestReply(body, MediaTypes.ociManifest)));
    const r = await cli(proxy, manifestOf("hugecl"));
    failed(r, /manifest is larger than the 4 MiB limit \(declared 5242880 bytes\)/);
    assert.equal(count(proxy, "hugecl", "manifests"), 1);
  });

  await t.step("a config declared over 16 MiB is refused without fetching it", async () => {
    const manifest = JSON.parse(dec.decode(oci.manifestBytes));
    manifest.config.size = 16 * MiB + 1;
    const body = enc.encode(JSON.stringify(manifest));
    proxy.scenario("hugeconfig", faults.serve("manifests", manifestReply(body, MediaTypes.ociManifest)));
    const r = await cli(proxy, configOf("hugeconfig"));
    failed(r, /over the \d+-byte limit for configs/);
    assert.equal(count(proxy, "hugeconfig", "blobs"), 0);
  });

  await t.step("a token answer over 1 MiB is refused while reading", async () => {
    proxy.scenario(
      "hugetoken",
      faults.bearer({
        tokenReply: {
          status: 200,
          headers: { "content-type": "application/json" },
          body: enc.encode(`{"token": "${"a".repeat(2 * MiB)}"}`),
          contentLength: "chunked",
          then: "hold",
        },
      }),
    );
    const r = await cli(proxy, [...manifestOf("hugetoken"), "--timeout", "20"]);
    failed(r, /token answer is larger than the 1 MiB limit/);
    assert.ok(r.ms < 10_000, `took ${Math.round(r.ms)} ms`);
    assert.equal(count(proxy, "hugetoken", "token"), 1);
    assert.ok(proxy.requests("hugetoken", "token")[0].clientClosed);
  });

  await t.step("invalid JSON served as a manifest: a ManifestError, one line", async () => {
    const body = enc.encode('{"schemaVersion": 2, "mediaType": ');
    proxy.scenario("badjson", faults.serve("manifests", manifestReply(body, MediaTypes.ociManifest)));
    failed(await cli(proxy, configOf("badjson")), /manifest is not valid JSON/);
    failed(
      await cli(proxy, ["get_manifest", "-u", proxy.ref("badjson", oci.reference)]),
      /manifest is not valid JSON/,
    );
    failed(
      await cli(proxy, ["sbom", "-u", proxy.ref("badjson", oci.reference)]),
      /manifest is not valid JSON/,
    );
    assert.equal(count(proxy, "badjson", "blobs"), 0);
  });

  await t.step("a schema1 manifest is unsupported", async () => {
    const body = enc.encode(JSON.stringify({
      schemaVersion: 1,
      name: "test/oci",
      tag: "v1",
      architecture: "amd64",
      fsLayers: [{ blobSum: oci.layers[0].digest }],
      history: [{ v1Compatibility: "{}" }],
      signatures: [],
    }));
    proxy.scenario(
      "schema1",
      faults.serve(
        "manifests",
        manifestReply(body, "application/vnd.docker.distribution.manifest.v1+prettyjws"),
      ),
    );
    failed(await cli(proxy, configOf("schema1")), /schema1 manifest, which is unsupported/);
    assert.equal(count(proxy, "schema1", "manifests"), 1);
    // get_manifest prints raw bytes, but never bytes it cannot read as a manifest.
    failed(
      await cli(proxy, ["get_manifest", "-u", proxy.ref("schema1", oci.reference)]),
      /schema1 manifest, which is unsupported/,
    );
    assert.equal(count(proxy, "schema1", "manifests"), 2);
    assert.equal(count(proxy, "schema1", "blobs"), 0);
    // Served with a generic type, it is recognised by its schemaVersion.
    proxy.scenario("schema1json", faults.serve("manifests", manifestReply(body, "application/json")));
    failed(await cli(proxy, configOf("schema1json")), /schema1 manifest, which is unsupported/);
  });

  await t.step("10 redirects are followed", async () => {
    proxy.scenario("chain", (req, tools) => {
      const hop = Number(new URLSearchParams(req.target.split("?")[1] ?? "").get("hop") ?? "0");
      if (req.kind !== "manifests" || hop >= 10) return tools.forward(req);
      return { status: 307, headers: { location: `${req.target.split("?")[0]}?hop=${hop + 1}` } };
    });
    ok(await cli(proxy, manifestOf("chain")), oci.manifestBytes);
    assert.equal(count(proxy, "chain", "manifests"), 11);
  });

  await t.step("a redirect loop: exit 1 after at most 11 requests", async () => {
    proxy.scenario("loop", faults.redirect((req) => req.target));
    const r = await cli(proxy, manifestOf("loop"));
    failed(r, /too many redirects/);
    assert.equal(count(proxy, "loop", "manifests"), 11);
  });

  await t.step("an https -> http redirect is refused", async () => {
    proxy.scenario("downtarget", faults.pass);
    proxy.scenario(
      "downgrade",
      faults.redirect((req, tools) => `${tools.url}/v2/downtarget/${req.repo}/${req.kind}/${req.reference}`),
    );
    const r = await cli(proxy, ["get_manifest", "-u", proxy.ref("downgrade", oci.reference, true)], {
      tls: true,
    });
    failed(r, /refusing a redirect from https to http/);
    assert.deepEqual(proxy.requests("downgrade").map((e) => [e.listener, e.status]), [["https", 302]]);
    assert.equal(count(proxy, "downtarget"), 0, "the http target must never be contacted");
  });

  await t.step(
    "ECR-style 307 to a presigned URL on another origin: works, and no Authorization goes there",
    async () => {
      const username = "AWS";
      const password = `pw-${crypto.randomUUID()}`;
      proxy.scenario("presigned", faults.presignedBlobs({ basic: { username, password } }));
      const dir = await Deno.makeTempDir({ prefix: "docker-config-" });
      try {
        await Deno.writeTextFile(
          `${dir}/config.json`,
          JSON.stringify({ auths: { [proxy.host]: { auth: btoa(`${username}:${password}`) } } }),
        );
        ok(await cli(proxy, configOf("presigned"), { env: { DOCKER_CONFIG: dir } }), oci.configBytes);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
      const blobs = proxy.requests("presigned", "blobs");
      assert.equal(blobs.length, 1);
      assert.equal(blobs[0].status, 307);
      assert.match(blobs[0].headers.get("authorization") ?? "", /^Basic /, "the registry got credentials");
      const s3: ProxyRequest[] = proxy.requests("presigned", "s3");
      assert.equal(s3.length, 1);
      assert.equal(s3[0].status, 200);
      assert.equal(s3[0].headers.get("authorization"), null, "the presigned URL got an Authorization header");
      assert.equal(s3[0].headers.get("cookie"), null);
      assert.match(s3[0].target, /X-Amz-Signature=SECRETSIG/);
    },
  );

  await t.step("token expired after its first use: exactly one fresh token, then success", async () => {
    proxy.scenario("tokexpire", faults.bearer({ accept: (_serial, use) => use === 1 }));
    ok(await cli(proxy, configOf("tokexpire")), oci.configBytes);
    assert.equal(count(proxy, "tokexpire", "token"), 2);
    // manifest: 401 (no token) + 200; blob: 401 (expired) + 200
    assert.deepEqual(proxy.requests("tokexpire", "manifests").map((e) => e.status), [401, 200]);
    assert.deepEqual(proxy.requests("tokexpire", "blobs").map((e) => e.status), [401, 200]);
  });

  await t.step("every token rejected: AuthError after one fresh token, no loop", async () => {
    proxy.scenario("tokreject", faults.bearer({ accept: () => false }));
    const r = await cli(proxy, configOf("tokreject"));
    failed(r, /unauthorized/);
    assert.ok(count(proxy, "tokreject", "token") <= 2);
    assert.equal(count(proxy, "tokreject", "token"), 1);
    assert.deepEqual(proxy.requests("tokreject", "manifests").map((e) => e.status), [401, 401]);
  });

  await t.step("token expired, and the fresh one rejected as well: AuthError, 2 token requests", async () => {
    proxy.scenario("tokexpreject", faults.bearer({ accept: (serial, use) => serial === 1 && use === 1 }));
    const r = await cli(proxy, configOf("tokexpreject"));
    failed(r, /unauthorized/);
    assert.equal(count(proxy, "tokexpreject", "token"), 2);
    assert.deepEqual(proxy.requests("tokexpreject", "blobs").map((e) => e.status), [401, 401]);
  });
});
