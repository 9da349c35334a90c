/**
 * Runs the CLI (`main.ts`) in a subprocess with a minimal, isolated environment.
 *
 * @module
 */

/** Absolute path of the repository root. */
export const REPO_ROOT: string = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

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

/** Options of {@linkcode runCli}. */
export interface RunCliOptions {
  /** Extra environment variables (override the defaults). */
  env?: Record<string, string>;
  /** Working directory (default: a fresh temp dir, which is also HOME). */
  cwd?: string;
  /** Pass only `env` (nothing else, not even the defaults). Default false. */
  clearEnv?: boolean;
  /** Bytes or text written to stdin (stdin is empty otherwise). */
  stdin?: Uint8Array | string;
  /** Kill the CLI after this many ms and fail: a hang must fail a test, not stall the suite. */
  hangLimitMs?: number;
}

/** Result of {@linkcode runCli}. */
export interface CliResult {
  /** Exit code. */
  code: number;
  /** Raw stdout. */
  stdout: Uint8Array;
  /** stdout decoded as UTF-8. */
  stdoutText: string;
  /** stderr decoded as UTF-8. */
  stderr: string;
}

/**
 * Run `<deno> run --allow-all --config <repo>/deno.json <repo>/main.ts ...args`. By default the child gets only
 * PATH, HOME (a fresh temp dir, so no `~/.docker/config.json` leaks in; also the default cwd), DENO_DIR (ours, see
 * {@linkcode sharedDenoDir}), NO_COLOR=1 and `opts.env`.
 */
export async function runCli(args: string[], opts: RunCliOptions = {}): Promise<CliResult> {
  const home = await Deno.makeTempDir({ prefix: "cli-home-" });
  try {
    const env: Record<string, string> = {};
    if (!opts.clearEnv) {
      env.PATH = Deno.env.get("PATH") ?? "/usr/bin:/bin";
      env.HOME = home;
      env.NO_COLOR = "1";
      const dir = await sharedDenoDir();
      if (dir) env.DENO_DIR = dir;
    }
    Object.assign(env, opts.env ?? {});
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        "--quiet",
        "--config",
        `${REPO_ROOT}/deno.json`,
        `${REPO_ROOT}/main.ts`,
        ...args,
      ],
      cwd: opts.cwd ?? home,
      env,
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
    const out = await child.output();
    if (out.signal && opts.hangLimitMs) {
      throw new Error(`the CLI hung: killed after ${opts.hangLimitMs} ms (${args.join(" ")})`);
    }
    const dec = new TextDecoder();
    return {
      code: out.code,
      stdout: out.stdout,
      stdoutText: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr),
    };
  } finally {
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
}
