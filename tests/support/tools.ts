/**
 * External binaries used by the integration tests: lookup (fail loudly when missing) and a small runner.
 *
 * @module
 */

const found = new Map<string, string>();

/** Directories searched by {@linkcode requireBinary} besides `$PATH` (sbin dirs are often not on PATH). */
const EXTRA_DIRS = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/**
 * Absolute path of executable `name` (searched on `$PATH`, then the usual system dirs). Throws a clear error when
 * it is missing, so tests fail instead of silently skipping. Absolute names are checked as they are.
 */
export function requireBinary(name: string): string {
  const cached = found.get(name);
  if (cached) return cached;
  const candidates = name.includes("/")
    ? [name]
    : [...(Deno.env.get("PATH") ?? "").split(":").filter((d) => d !== ""), ...EXTRA_DIRS].map((d) =>
      `${d}/${name}`
    );
  for (const path of candidates) {
    try {
      const info = Deno.statSync(path);
      if (info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0) {
        found.set(name, path);
        return path;
      }
    } catch {
      // not here
    }
  }
  throw new Error(
    `required binary "${name}" not found (PATH=${Deno.env.get("PATH") ?? ""}); ` +
      `run the tests via \`deno task test\` (tests/run.sh installs docker-registry, skopeo, umoci, hyperfine, ` +
      `apache2-utils, openssl) or install it yourself`,
  );
}

/** Options of {@linkcode run}. */
export interface RunOptions {
  /** Extra/overriding environment variables. */
  env?: Record<string, string>;
  /** Start from an empty environment (only `env` is passed). */
  clearEnv?: boolean;
  /** Working directory. */
  cwd?: string;
  /** Bytes written to the child's stdin (stdin is closed/null otherwise). */
  stdin?: Uint8Array | string;
  /** Throw (with stderr in the message) when the exit code is not 0. */
  check?: boolean;
}

/** Result of {@linkcode run}. */
export interface RunResult {
  /** Exit code. */
  code: number;
  /** Raw stdout bytes. */
  stdout: Uint8Array;
  /** Stderr decoded as UTF-8. */
  stderr: string;
}

/**
 * Run `cmd` (a name looked up with {@linkcode requireBinary}, or a path) with `args` and collect its output.
 * With `check: true` a non-zero exit throws an error carrying the command line and stderr.
 */
export async function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const path = requireBinary(cmd);
  const child = new Deno.Command(path, {
    args,
    env: opts.env,
    clearEnv: opts.clearEnv,
    cwd: opts.cwd,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(typeof opts.stdin === "string" ? new TextEncoder().encode(opts.stdin) : opts.stdin);
    await writer.close();
  }
  const out = await child.output();
  const result = { code: out.code, stdout: out.stdout, stderr: new TextDecoder().decode(out.stderr) };
  if (opts.check && result.code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} exited with ${result.code}: ${result.stderr.trim()}`);
  }
  return result;
}
