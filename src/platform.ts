/**
 * Platforms (os/arch/variant): parsing, normalisation and best-match selection, as plain data code.
 *
 * @module
 */

import { PlatformError } from "./errors.ts";

/** A platform as in the OCI image index (`platform` of a descriptor). */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  "os.version"?: string;
  "os.features"?: string[];
}

const ARCH_ALIASES: Record<string, { architecture: string; variant?: string }> = {
  x86_64: { architecture: "amd64" },
  "x86-64": { architecture: "amd64" },
  amd64: { architecture: "amd64" },
  aarch64: { architecture: "arm64" },
  arm64: { architecture: "arm64" },
  armhf: { architecture: "arm", variant: "v7" },
  armel: { architecture: "arm", variant: "v6" },
  arm: { architecture: "arm" },
  i386: { architecture: "386" },
  i686: { architecture: "386" },
  x86: { architecture: "386" },
  "386": { architecture: "386" },
  ppc64le: { architecture: "ppc64le" },
  s390x: { architecture: "s390x" },
  riscv64: { architecture: "riscv64" },
};

const OS_ALIASES: Record<string, string> = { macos: "darwin", osx: "darwin" };

const KNOWN_OS = new Set([
  "linux",
  "windows",
  "darwin",
  "freebsd",
  "netbsd",
  "openbsd",
  "solaris",
  "illumos",
  "aix",
  "android",
  "ios",
  "js",
  "wasip1",
  "plan9",
  "dragonfly",
]);

const TOKEN = /^[a-z0-9][a-z0-9._-]*$/;

/**
 * Normalise a platform the way containerd compares them (containerd/platforms `normalizeArch`): `x86_64` is
 * `amd64` (`amd64/v1` too), `aarch64` is `arm64`, `arm64/v8` (`8`, `v8.0`) is `arm64`, `arm64/9` (`9.0`,
 * `v9.0`) is `arm64/v9`, `armhf` is `arm/v7`, `armel` is `arm/v6`, `arm` without a variant is `arm/v7`, and
 * `arm/5` is `arm/v5`.
 *
 * @example
 * ```ts
 * normalizePlatform({ os: "Linux", architecture: "aarch64" }); // { os: "linux", architecture: "arm64" }
 * ```
 */
export function normalizePlatform(p: Platform): Platform {
  const osIn = p.os.toLowerCase();
  const os = Object.hasOwn(OS_ALIASES, osIn) ? OS_ALIASES[osIn] : osIn;
  const archIn = p.architecture.toLowerCase();
  const alias = Object.hasOwn(ARCH_ALIASES, archIn) ? ARCH_ALIASES[archIn] : undefined;
  const architecture = alias?.architecture ?? archIn;
  let variant = p.variant?.toLowerCase() || alias?.variant;
  if (architecture === "arm64" && (variant === "v8" || variant === "8" || variant === "v8.0")) {
    variant = undefined;
  }
  if (architecture === "arm64" && (variant === "9" || variant === "9.0" || variant === "v9.0")) {
    variant = "v9";
  }
  if (architecture === "arm" && variant === undefined) variant = "v7";
  if (architecture === "arm" && variant && /^\d+$/.test(variant)) variant = `v${variant}`;
  if (architecture === "amd64" && variant === "v1") variant = undefined;
  const out: Platform = { os, architecture };
  if (variant) out.variant = variant;
  if (p["os.version"]) out["os.version"] = p["os.version"];
  return out;
}

/**
 * Parse `os/arch[/variant]`, as containerd reads a platform specifier: an OS alone (`linux`, `windows`) means
 * that OS on `host`'s architecture (this machine's by default); an architecture alone (or `arch/variant`) means
 * linux on it. Throws {@link PlatformError} on bad input.
 *
 * @example
 * ```ts
 * parsePlatform("linux/arm64/v8"); // { os: "linux", architecture: "arm64" }
 * parsePlatform("windows", { os: "linux", architecture: "amd64" }); // { os: "windows", architecture: "amd64" }
 * ```
 */
export function parsePlatform(text: string, host: Platform = hostPlatform()): Platform {
  const trimmed = text.trim().toLowerCase();
  const parts = trimmed.split("/");
  if (trimmed === "" || parts.length > 3 || parts.some((s) => !TOKEN.test(s))) {
    throw new PlatformError(`invalid platform "${truncate(text)}"`, {
      hint: "use OS/ARCH[/VARIANT], for example linux/amd64 or linux/arm64/v8",
    });
  }
  if (parts.length === 1) {
    const os = Object.hasOwn(OS_ALIASES, parts[0]) ? OS_ALIASES[parts[0]] : parts[0];
    if (KNOWN_OS.has(os)) {
      const arch = normalizePlatform(host);
      return normalizePlatform(
        arch.variant ? { os, architecture: arch.architecture, variant: arch.variant } : {
          os,
          architecture: arch.architecture,
        },
      );
    }
    return normalizePlatform({ os: "linux", architecture: parts[0] });
  }
  if (parts.length === 2 && !KNOWN_OS.has(parts[0]) && Object.hasOwn(ARCH_ALIASES, parts[0])) {
    // `arm64/v8`: an architecture and variant, on Linux.
    return normalizePlatform({ os: "linux", architecture: parts[0], variant: parts[1] });
  }
  const [os, architecture, variant] = parts;
  return normalizePlatform(variant ? { os, architecture, variant } : { os, architecture });
}

/** `os/arch[/variant]` text of a platform. */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter((s) => s).join("/");
}

/** Whether a platform is the `unknown/unknown` placeholder BuildKit uses for attestation manifests. */
export function isUnknownPlatform(p: Platform | undefined): boolean {
  return !p || p.os === "unknown" || p.architecture === "unknown";
}

/**
 * Whether `candidate` satisfies `wanted` after normalisation. A wanted platform without a variant matches any
 * variant (preferring an exact match is the caller's choice, see {@link selectPlatform}).
 */
export function platformMatches(wanted: Platform, candidate: Platform): boolean {
  const w = normalizePlatform(wanted);
  const c = normalizePlatform(candidate);
  if (w.os !== c.os || w.architecture !== c.architecture) return false;
  if (w.variant && w.variant !== c.variant) return false;
  return true;
}

/**
 * Pick the best entry for `wanted` among `candidates` (an index's `manifests`): exact variant match first, then
 * any variant; entries without a platform or with `unknown` os/arch (attestations) are skipped. Returns the
 * index of the chosen entry, or -1.
 *
 * @example
 * ```ts
 * selectPlatform({ os: "linux", architecture: "arm64" }, [
 *   { platform: { os: "linux", architecture: "amd64" } },
 *   { platform: { os: "linux", architecture: "arm64", variant: "v8" } },
 * ]); // 1
 * ```
 */
export function selectPlatform(wanted: Platform, candidates: { platform?: Platform }[]): number {
  const w = normalizePlatform(wanted);
  let fallback = -1;
  for (let i = 0; i < candidates.length; i++) {
    const p = candidates[i].platform;
    if (!p || isUnknownPlatform(p) || typeof p.os !== "string" || typeof p.architecture !== "string") {
      continue;
    }
    if (!platformMatches(w, p)) continue;
    const c = normalizePlatform(p);
    if (c.variant === w.variant) return i;
    if (fallback < 0) fallback = i;
  }
  return fallback;
}

/** The platform of the machine the tool runs on, in OCI terms. */
export function hostPlatform(): Platform {
  const os = Deno.build.os === "darwin" ? "darwin" : Deno.build.os === "windows" ? "windows" : "linux";
  // Containers on macOS and Windows hosts are Linux images almost always; ask for those.
  return normalizePlatform({ os: os === "windows" ? "windows" : "linux", architecture: Deno.build.arch });
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
