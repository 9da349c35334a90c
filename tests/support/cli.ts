/**
 * Running the CLI in tests, from one place.
 *
 * - {@linkcode cli}: in-process through `run(args, io)` (fast: no Deno start-up per run), unless
 *   `ECRIMAGEMETADATAEXTRACTOR_BIN` names a compiled binary: then every call runs that binary, so the whole
 *   CLI suite runs against it.
 * - {@linkcode runCli}: always a separate process (permissions, signals, the environment of a real start):
 *   `$ECRIMAGEMETADATAEXTRACTOR_BIN` when set, else `deno run` with exactly the permission flags of the
 *   `compile` task in deno.json, so a test that passes here needs no permission the binary lacks.
 *
 * Both give the child a minimal, isolated environment: PATH, HOME (a fresh temp dir, so no
 * `~/.docker/config.json` leaks in; also the default working directory), DENO_DIR, NO_COLOR=1, and `opts.env`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { run } from "../../src/cli/run.ts";
import type { Sleep } from "../../src/registry/transport/retry.ts";

/** Absolute path of the repository root. */
export const REPO_ROOT: string = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** The compiled binary the suite runs against, when set. */
export const CLI_BIN: string | undefined = Deno.env.get("ECRIMAGEMETADATAEXTRACTOR_BIN") || undefined;

let denoDir: Promise<string | undefined> | undefined;

/**
 * The DENO_DIR the child should share with us (so it does not re-download npm packages into its fresh HOME):
 * `$DENO_DIR` if set, else what `deno info --json` reports.
 */
export function sharedDenoDir(): Promise<string | undefined> {
  denoDir ??= (async () => {
    const fromEnv = Deno.env.get("DENO_DIR");
    if (fromEnv) return fromEnv;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json"],
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    try {
      return (JSON.parse(new TextDecoder().decode(out.stdout)) as { denoDir?: string }).denoDir;
    } catch {
      return undefined;
    }
  })();
  return denoDir;
}

/** The permission flags of a deno.json task (`--allow-*`, `--deny-*`). */
export function permissionFlags(task: string): string[] {
  return task.split(/\s+/).filter((a) => a.startsWith("--allow-") || a.startsWith("--deny-"));
}

/** The flags of a deno.json task that the binary runs with: its permissions and its V8 flags. */
export function runtimeFlags(task: string): string[] {
  return task.split(/\s+/).filter((a) =>
    a.startsWith("--allow-") || a.startsWith("--deny-") || a.startsWith("--v8-flags=")
  );
}

/**
 * The `compile` task's runtime flags: what the binary is allowed and the V8 flags it is built with, all a test
 * child gets (and what the benchmark runs the tool with).
 */
export const COMPILE_FLAGS: string[] = runtimeFlags(
  JSON.parse(Deno.readTextFileSync(`${REPO_ROOT}/deno.json`)).tasks.compile,
);

/** The command line that starts the CLI as a process (before the tool's own arguments). */
export function cliCommand(): { program: string; args: string[] } {
  if (CLI_BIN) return { program: CLI_BIN, args: [] };
  return {
    program: Deno.execPath(),
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      ...COMPILE_FLAGS,
      "--config",
      `${REPO_ROOT}/deno.json`,
      `${REPO_ROOT}/main.ts`,
    ],
  };
}

/** Options of {@linkcode runCli} and {@linkcode cli}. */
export interface RunCliOptions {
  /** Extra environment variables (override the defaults). */
  env?: Record<string, string>;
  /** Working directory (default: a fresh temp dir, which is also HOME). */
  cwd?: string;
  /** Pass only `env` (nothing else, not even the defaults). Default false. */
  clearEnv?: boolean;
  /** Bytes or text written to stdin (stdin is empty otherwise; processes only). */
  stdin?: Uint8Array | string;
  /** Kill (or abandon) the CLI after this many ms and fail: a hang must fail a test, not stall the suite. */
  hangLimitMs?: number;
  /** In-process only: how retries wait (record the delay instead of sleeping). */
  sleep?: Sleep;
  /**
   * Processes only: close the reading end of the child's stdout at once, before it writes (a reader that went
   * away, as `| head -1` does); `stdout` is then empty.
   */
  closeStdout?: boolean;
  /**
   * Processes only (Linux): watch the child's resident memory, kill it and fail once it passes this many MiB,
   * and report its peak (`peakMiB`). A run that would grow without bound must fail a test, not the machine.
   */
  memoryLimitMiB?: number;
}

/** Result of {@linkcode runCli} and {@linkcode cli}. */
export interface CliResult {
  /** Exit code. */
  code: number;
  /** Raw stdout. */
  stdout: Uint8Array;
  /** stdout decoded as UTF-8. */
  stdoutText: string;
  /** stderr decoded as UTF-8. */
  stderr: string;
  /** Peak resident memory of the process in MiB (VmHWM), with `memoryLimitMiB`. */
  peakMiB?: number;
}

/**
 * A failed run as the tool must fail: exit 1, nothing on stdout, exactly one line on stderr, in the tool's
 * words (a typed error prints its message; anything else would show up as "TypeError: ..." and the like),
 * matching `message`.
 */
export function assertOneLineFailure(r: CliResult, message: RegExp): void {
  assert.equal(r.code, 1, `expected exit 1, got ${r.code}; stderr: ${r.stderr}`);
  assert.equal(r.stdout.byteLength, 0, `stdout must stay empty on failure: ${r.stdoutText}`);
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0], /^ecrimagemetadataextractor: error: /);
  assert.doesNotMatch(lines[0], /error: [A-Za-z]*Error: /, "an untyped error reached the user");
  assert.match(lines[0], message);
}

/** VmRSS and VmHWM of a process in MiB, from /proc; undefined once it is gone. */
async function memoryOf(pid: number): Promise<{ rss: number; hwm: number } | undefined> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
    return { rss: kib("VmRSS") / 1024, hwm: kib("VmHWM") / 1024 };
  } catch {
    return undefined;
  }
}

/** Poll the child's memory every 20 ms until `done`; kill it past `limit` MiB. Resolves to the peak seen. */
async function watchMemory(
  child: Deno.ChildProcess,
  limit: number,
  done: Promise<unknown>,
): Promise<{ peak: number; exceeded: boolean }> {
  let peak = 0;
  let exceeded = false;
  let finished = false;
  done.finally(() => finished = true).catch(() => {});
  while (!finished) {
    const m = await memoryOf(child.pid);
    if (!m) break;
    peak = Math.max(peak, m.hwm, m.rss);
    if (m.rss > limit) {
      exceeded = true;
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { peak, exceeded };
}

async function childEnv(home: string, opts: RunCliOptions): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  if (!opts.clearEnv) {
    env.PATH = Deno.env.get("PATH") ?? "/usr/bin:/bin";
    env.HOME = home;
    env.NO_COLOR = "1";
    const dir = await sharedDenoDir();
    if (dir) env.DENO_DIR = dir;
  }
  return Object.assign(env, opts.env ?? {});
}

/** Run the CLI as a separate process (see the module notes). */
export async function runCli(args: string[], opts: RunCliOptions = {}): Promise<CliResult> {
  const home = await Deno.makeTempDir({ prefix: "cli-home-" });
  try {
    const { program, args: prefix } = cliCommand();
    const child = new Deno.Command(program, {
      args: [...prefix, ...args],
      cwd: opts.cwd ?? home,
      env: await childEnv(home, opts),
      clearEnv: true,
      stdin: opts.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
      signal: opts.hangLimitMs ? AbortSignal.timeout(opts.hangLimitMs) : undefined,
    }).spawn();
    if (opts.stdin !== undefined) {
      const writer = child.stdin.getWriter();
      await writer.write(typeof opts.stdin === "string" ? new TextEncoder().encode(opts.stdin) : opts.stdin);
      await writer.close();
    }
    if (opts.closeStdout) await child.stdout.cancel();
    const output: Promise<Pick<Deno.CommandOutput, "code" | "signal" | "stdout" | "stderr">> =
      opts.closeStdout
        ? Promise.all([child.status, new Response(child.stderr).bytes()]).then(([status, stderr]) => ({
          code: status.code,
          signal: status.signal,
          stdout: new Uint8Array(),
          stderr,
        }))
        : child.output();
    const memory = opts.memoryLimitMiB ? watchMemory(child, opts.memoryLimitMiB, output) : undefined;
    const out = await output;
    const watched = await memory;
    if (watched?.exceeded) {
      throw new Error(
        `the CLI grew past ${opts.memoryLimitMiB} MiB and was killed (${args.join(" ")}); stderr: ${
          new TextDecoder().decode(out.stderr).slice(0, 500)
        }`,
      );
    }
    if (out.signal && opts.hangLimitMs) {
      throw new Error(`the CLI hung: killed after ${opts.hangLimitMs} ms (${args.join(" ")})`);
    }
    const dec = new TextDecoder();
    return {
      code: out.code,
      stdout: out.stdout,
      stdoutText: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr),
      peakMiB: watched?.peak,
    };
  } finally {
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
}

/**
 * Run the CLI in-process through `run(args, io)`, with the same isolated environment {@linkcode runCli} gives a
 * child; or, when `ECRIMAGEMETADATAEXTRACTOR_BIN` is set, run that binary.
 */
export async function cli(args: string[], opts: RunCliOptions = {}): Promise<CliResult> {
  if (CLI_BIN) return runCli(args, opts);
  const home = await Deno.makeTempDir({ prefix: "cli-home-" });
  try {
    const out: Uint8Array[] = [];
    const err: string[] = [];
    const running = run(args, {
      env: await childEnv(home, opts),
      cwd: opts.cwd ?? home,
      uid: Deno.uid(),
      stdout: (bytes) => {
        out.push(bytes.slice());
        return Promise.resolve();
      },
      stderr: (line) => void err.push(line),
      sleep: opts.sleep,
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const code = opts.hangLimitMs
      ? await Promise.race([
        running,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`the CLI hung: gave up after ${opts.hangLimitMs} ms (${args.join(" ")})`)),
            opts.hangLimitMs,
          );
        }),
      ]).finally(() => clearTimeout(timer))
      : await running;
    const stdout = new Uint8Array(out.reduce((n, c) => n + c.byteLength, 0));
    let off = 0;
    for (const c of out) {
      stdout.set(c, off);
      off += c.byteLength;
    }
    return {
      code,
      stdout,
      stdoutText: new TextDecoder().decode(stdout),
      stderr: err.map((l) => `${l}\n`).join(""),
    };
  } finally {
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
}
