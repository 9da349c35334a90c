/**
 * `skopeo inspect` against a test registry, as an independent reference implementation for byte comparisons.
 *
 * @module
 */

import type { TestRegistry } from "./registry.ts";
import { run } from "./tools.ts";

/** Options of {@linkcode skopeoInspect}. */
export interface SkopeoInspectOptions {
  /** Return the config blob (`--config`) instead of the manifest. */
  config?: boolean;
  /** Raw bytes (`--raw`); default true. */
  raw?: boolean;
  /** Choose this platform from an index (`--override-os/--override-arch/--override-variant`). */
  platform?: { os: string; arch: string; variant?: string };
  /** Send the registry's credentials (default: true when the registry has any). */
  creds?: boolean;
}

/**
 * Run `skopeo inspect --raw [--config] docker://HOST/REF` against `reg` and return stdout exactly. `reference` is
 * `repo:tag` or `repo@digest`. Uses `--tls-verify=false` for plain HTTP, `--cert-dir` (test CA) for TLS, and
 * `--creds` when the registry has credentials. Runs in an isolated environment (own HOME, empty auth file and
 * registries.conf) so the machine's configuration cannot interfere. Throws with skopeo's stderr on failure.
 */
export async function skopeoInspect(
  reg: Pick<TestRegistry, "host" | "tls" | "certDir" | "username" | "password">,
  reference: string,
  opts: SkopeoInspectOptions = {},
): Promise<Uint8Array> {
  const global: string[] = [];
  if (opts.platform) {
    global.push("--override-os", opts.platform.os, "--override-arch", opts.platform.arch);
    if (opts.platform.variant) global.push("--override-variant", opts.platform.variant);
  }
  const args = ["inspect"];
  if (opts.raw ?? true) args.push("--raw");
  if (opts.config) args.push("--config");
  if (reg.tls) {
    if (!reg.certDir) throw new Error("TLS registry without certDir");
    args.push("--cert-dir", reg.certDir);
  } else args.push("--tls-verify=false");
  if ((opts.creds ?? true) && reg.username !== undefined) {
    args.push("--creds", `${reg.username}:${reg.password ?? ""}`);
  } else args.push("--no-creds");
  args.push(`docker://${reg.host}/${reference}`);

  const home = await Deno.makeTempDir({ prefix: "skopeo-home-" });
  try {
    await Deno.writeTextFile(`${home}/registries.conf`, "");
    await Deno.writeTextFile(`${home}/auth.json`, "{}");
    const res = await run("skopeo", [...global, ...args], {
      clearEnv: true,
      env: {
        PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
        HOME: home,
        XDG_RUNTIME_DIR: home,
        XDG_CONFIG_HOME: `${home}/.config`,
        REGISTRY_AUTH_FILE: `${home}/auth.json`,
        CONTAINERS_REGISTRIES_CONF: `${home}/registries.conf`,
        TMPDIR: home,
      },
    });
    if (res.code !== 0) {
      throw new Error(`skopeo ${[...global, ...args].join(" ")} failed (${res.code}): ${res.stderr.trim()}`);
    }
    return res.stdout;
  } finally {
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
}
