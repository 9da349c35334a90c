/**
 * The benchmark's moving parts, for real and quickly: bench/latency_proxy.ts in front of the real registry (in
 * process and as the program bench/run.sh could start), the tool and skopeo reading through it byte for byte,
 * and the delay really being there. The full benchmark is `deno task bench`.
 */

import assert from "node:assert/strict";
import { timingOf } from "../bench/bench.ts";
import { startLatencyProxy } from "../bench/latency_proxy.ts";
import { REPO_ROOT, runCli } from "./support/cli.ts";
import { seedImages } from "./support/images.ts";
import { startRegistry } from "./support/registry.ts";
import { skopeoInspect } from "./support/skopeo.ts";

const DELAY_MS = 20;
/** One request/response exchange through the proxy: the delay each way. */
const EXCHANGE_MS = 2 * DELAY_MS;

/** Wall time of one GET through `host`, body read. */
async function timedGet(url: string): Promise<{ ms: number; status: number; body: Uint8Array }> {
  const t0 = performance.now();
  const res = await fetch(url);
  const body = await res.bytes();
  return { ms: performance.now() - t0, status: res.status, body };
}

Deno.test("bench smoke: through latency_proxy.ts (20 ms each way) get_manifest equals skopeo and pays the delay", async () => {
  await using reg = await startRegistry({ auth: "none" });
  const catalog = await seedImages(reg);
  await using proxy = startLatencyProxy({ target: reg.host, delayMs: DELAY_MS });
  const slow = { host: proxy.host, tls: false };

  // One exchange costs the delay both ways; the same request straight to the registry answers the same bytes.
  const direct = await timedGet(
    `${reg.url}/v2/${catalog.original.repo}/blobs/${catalog.original.configDigest}`,
  );
  const viaProxy = await timedGet(
    `http://${proxy.host}/v2/${catalog.original.repo}/blobs/${catalog.original.configDigest}`,
  );
  assert.equal(viaProxy.status, 200);
  assert.deepEqual(viaProxy.body, direct.body);
  assert.deepEqual(viaProxy.body, catalog.original.configBytes);
  assert.ok(viaProxy.ms >= EXCHANGE_MS, `one exchange through the proxy took ${viaProxy.ms.toFixed(1)} ms`);

  // The tool through the proxy, single-platform image: the exact bytes skopeo reads through the proxy.
  await reg.clearRequests();
  const before = proxy.connections();
  const single = await runCli([
    "get_manifest",
    "-u",
    `${proxy.host}/${catalog.original.reference}`,
    "--plain-http",
  ]);
  assert.equal(single.code, 0, single.stderr);
  assert.ok(proxy.connections() > before, "the tool connected through the proxy");
  assert.deepEqual(single.stdout, await skopeoInspect(slow, catalog.original.reference));
  assert.deepEqual(single.stdout, catalog.original.manifestBytes);

  // An index with --platform: two manifest GETs and the config (the truth about the platform) in a row, so at
  // least three exchanges' worth of delay.
  const amd64 = catalog.multi.entries.find((e) => e.platform.architecture === "amd64")!;
  await reg.clearRequests();
  const t0 = performance.now();
  const chosen = await runCli([
    "get_manifest",
    "--platform",
    "linux/amd64",
    "-u",
    `${proxy.host}/${catalog.multi.reference}`,
    "--plain-http",
  ]);
  const elapsed = performance.now() - t0;
  assert.equal(chosen.code, 0, chosen.stderr);
  const requests = (await reg.requests()).map((r) => `${r.method} ${r.path}`);
  assert.deepEqual(requests, [
    `GET /v2/${catalog.multi.repo}/manifests/${catalog.multi.tag}`,
    `GET /v2/${catalog.multi.repo}/manifests/${amd64.manifestDigest}`,
    `GET /v2/${catalog.multi.repo}/blobs/${amd64.configDigest}`,
  ]);
  assert.deepEqual(chosen.stdout, await skopeoInspect(slow, amd64.digestReference));
  assert.deepEqual(chosen.stdout, amd64.manifestBytes);
  assert.ok(
    elapsed >= 3 * EXCHANGE_MS,
    `three exchanges through the proxy took only ${elapsed.toFixed(1)} ms`,
  );
});

Deno.test("bench smoke: latency_proxy.ts as a program prints its address, proxies, and stops when stdin closes", async () => {
  await using reg = await startRegistry({ auth: "none" });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--quiet",
      `${REPO_ROOT}/bench/latency_proxy.ts`,
      "--target",
      reg.host,
      "--delay",
      String(DELAY_MS),
      "--stdin-lifeline",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let first = "";
  while (!first.includes("\n")) {
    const { value, done } = await lines.read();
    if (done) break;
    first += value;
  }
  const host = first.trim();
  assert.match(host, /^127\.0\.0\.1:\d+$/);
  const ping = await timedGet(`http://${host}/v2/`);
  assert.equal(ping.status, 200);
  assert.ok(ping.ms >= EXCHANGE_MS, `one exchange through the proxy took ${ping.ms.toFixed(1)} ms`);
  await child.stdin.close();
  const [status, stderr] = await Promise.all([
    child.status,
    new Response(child.stderr).text(),
    lines.cancel(),
  ]);
  assert.equal(status.code, 0, stderr);
});

Deno.test("bench: timingOf gives the mean, sample standard deviation, median, min and max of the runs", () => {
  const t = timingOf("x", "x --flag", [0.3, 0.1, 0.2, 0.4]);
  assert.equal(t.mean.toFixed(6), "0.250000");
  assert.equal(t.stddev.toFixed(6), Math.sqrt(0.05 / 3).toFixed(6));
  assert.deepEqual([t.median, t.min, t.max], [0.25, 0.1, 0.4]);
  assert.equal(timingOf("x", "x", [0.3, 0.1, 0.2]).median, 0.2);
});

Deno.test("bench smoke: the whole benchmark runs end to end with tiny settings, every command succeeding", async () => {
  // Timings mean nothing here (other tests share the CPUs): this holds the benchmark itself working, so that
  // a command line it runs (a flag a command came to require) is caught before someone needs the figures.
  const out = await Deno.makeTempFile({ suffix: ".md" });
  try {
    const r = await new Deno.Command("bash", {
      args: [`${REPO_ROOT}/bench/run.sh`],
      env: {
        BENCH_RUNS: "2",
        BENCH_WARMUP: "0",
        BENCH_SUBJECT_MIB: "1",
        BENCH_ATTACHED_PACKAGES: "20",
        BENCH_DELAY_MS: "5",
        BENCH_OUT: out,
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(240_000),
    }).output();
    const stderr = new TextDecoder().decode(r.stderr);
    assert.equal(r.code, 0, `${new TextDecoder().decode(r.stdout).slice(-2000)}\n${stderr.slice(-2000)}`);
    const md = await Deno.readTextFile(out);
    assert.match(md, /## Summary/);
    // The request counts are exact whatever the load: they must hold.
    // (The table is padded as deno fmt writes it.)
    assert.match(md, /\| every command +\| request counts +\|.*\| as expected +\| PASS +\|/);
    assert.match(md, /\| sbom --include-attached +\| loopback, 20 packages +\|.*0 layer reads +\| PASS +\|/);
    // The ratio of sbom --include-attached to sbom is timed in both orders, over the runs of both.
    assert.match(md, /Timed in both orders[\s\S]*?over all 4 runs\s+of\s+each\s+command/);
    // The figures that tell what the targets leave for the tool: the parser's own cost, measured.
    assert.match(
      md,
      /\| stricli_reference\.ts --help +\| start-up +\|.*\| reported: .*\| [\d.]+x \(empty\.ts /,
    );
    assert.match(md, /\| parser_floor\.ts +\| loopback +\|.*\| [\d.]+x \(minimal\.ts --manifest-only /);
  } finally {
    await Deno.remove(out);
  }
});
