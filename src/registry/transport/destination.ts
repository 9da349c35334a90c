/**
 * Where a registry may send the tool: a Bearer realm or a redirect `Location` is any URL the registry likes,
 * and on EC2, ECS, EKS and CodeBuild the link-local addresses (169.254.0.0/16, fe80::/10, fd00:ec2::/64) are
 * the instance and container credential endpoints. A registry-controlled URL is never followed there: IP
 * literals are checked as written (in every form the URL parser normalises, IPv4-mapped IPv6 included), host
 * names by what they resolve to. The origin the user configured (the registry itself, or its
 * `--registry-endpoint`) is the user's choice and is never blocked.
 *
 * @module
 */

import { NetworkError } from "../../errors.ts";

/** Resolves a host name to its IP addresses (A and AAAA); a parameter so tests need no DNS. */
export type HostResolver = (host: string, signal?: AbortSignal) => Promise<string[]>;

/**
 * How long a DNS check may take before the tool goes ahead and lets the connection decide. A healthy resolver
 * answers in about a millisecond (measured: 0.6-1.5 ms for A and AAAA together, warm), a cold recursive
 * lookup in tens; a lost UDP answer costs the resolver's full 5 s retry, which this caps. Going ahead on a
 * timeout gives nothing away: a name's answer can change between this check and the connection's own lookup
 * (DNS rebinding), so the check stops names that lead to those addresses for good (`*.nip.io`,
 * `metadata.google.internal`), which is what it is for.
 */
const DNS_CHECK_MS = 1000;

/**
 * Host names whose DNS the cloud provider runs and which never resolve to a link-local address: ECR's
 * presigned S3 URLs (`prod-<region>-starport-layer-bucket.s3.<region>.amazonaws.com`). Not resolving them
 * here keeps the normal ECR blob redirect at the one DNS lookup fetch makes anyway.
 */
const TRUSTED_SUFFIXES = [".amazonaws.com", ".amazonaws.com.cn"];

/**
 * The system's DNS, through `Deno.resolveDns` (A and AAAA at once). Names it cannot resolve give no
 * addresses: the connection itself then reports the failure as it always has.
 *
 * @example
 * ```ts
 * await dnsResolver("registry-1.docker.io"); // ["54.236.113.205", ...]
 * ```
 */
export const dnsResolver: HostResolver = async (host, signal) => {
  const answers = await Promise.allSettled([
    Deno.resolveDns(host, "A", { signal }),
    Deno.resolveDns(host, "AAAA", { signal }),
  ]);
  return answers.flatMap((a) => a.status === "fulfilled" ? a.value : []);
};

function ipv4(text: string): number[] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const octets = m.slice(1).map(Number);
  return octets.every((o) => o <= 255) ? octets : undefined;
}

/** The eight 16-bit groups of an IPv6 address (`::` expanded, a trailing dotted quad and a zone allowed). */
function ipv6(text: string): number[] | undefined {
  let s = text.replace(/^\[|\]$/g, "").replace(/%.*$/, "").toLowerCase();
  const quad = /(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/.exec(s)?.[1];
  if (quad) {
    const o = ipv4(quad);
    if (!o) return undefined;
    s = `${s.slice(0, -quad.length)}${((o[0] << 8) | o[1]).toString(16)}:${
      ((o[2] << 8) | o[3]).toString(16)
    }`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const parse = (part: string) => part === "" ? [] : part.split(":");
  const head = parse(halves[0]);
  const tail = halves.length === 2 ? parse(halves[1]) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return undefined;
  return groups.map((g) => parseInt(g, 16));
}

function linkLocalV4(o: number[]): boolean {
  return o[0] === 169 && o[1] === 254;
}

/**
 * Whether `address` (an IPv4 or IPv6 address, brackets allowed) is one a registry may never send the tool to:
 * IPv4 169.254.0.0/16, IPv6 fe80::/10 and AWS's fd00:ec2::/64 (IMDS at fd00:ec2::254, EKS Pod Identity at
 * fd00:ec2::23), and those IPv4 addresses inside IPv6 (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible
 * `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`). Anything else, host names included, is not.
 *
 * @example
 * ```ts
 * blockedAddress("169.254.169.254"); // true
 * blockedAddress("[::ffff:a9fe:a9fe]"); // true
 * blockedAddress("10.0.0.1"); // false
 * ```
 */
export function blockedAddress(address: string): boolean {
  const v4 = ipv4(address);
  if (v4) return linkLocalV4(v4);
  const g = ipv6(address);
  if (!g) return false;
  if ((g[0] & 0xffc0) === 0xfe80) return true;
  if (g[0] === 0xfd00 && g[1] === 0x0ec2 && g[2] === 0 && g[3] === 0) return true;
  const embedded = (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 &&
    (g[5] === 0xffff || g[5] === 0)) ||
    (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0));
  return embedded && linkLocalV4([g[6] >> 8, g[6] & 0xff, g[7] >> 8, g[7] & 0xff]);
}

/** Whether a URL host is an IP literal (IPv4 as the URL parser normalises it, or bracketed IPv6). */
function isIpLiteral(host: string): boolean {
  return host.startsWith("[") || ipv4(host) !== undefined;
}

/** Options of {@link checkDestination}. */
export interface DestinationOptions {
  /** The origin the user chose to talk to (the registry or its configured endpoint): never blocked. */
  own?: string;
  /** Resolves host names; without it only IP literals are checked. */
  resolve?: HostResolver;
  /** The run's deadline. */
  signal?: AbortSignal;
}

/**
 * Throw a {@link NetworkError} when `url`, a URL a registry named (realm, redirect), leads to a link-local
 * address; `what` says what named it ("a redirect", "the registry's token realm").
 *
 * @example
 * ```ts
 * await checkDestination(new URL("http://169.254.169.254/latest/"), "a redirect"); // throws
 * ```
 */
export async function checkDestination(url: URL, what: string, opts: DestinationOptions = {}): Promise<void> {
  if (opts.own !== undefined && url.origin === opts.own) return;
  const host = url.hostname;
  const refuse = (address?: string) =>
    new NetworkError(
      `refusing to connect to ${url.origin}${
        address ? ` (${address})` : ""
      }, named by ${what}: a link-local ` +
        `address, where cloud instance and container credentials are served`,
      {
        hint: "the registry named a URL it has no business naming; check the registry and its configuration",
      },
    );
  if (isIpLiteral(host)) {
    if (blockedAddress(host)) throw refuse();
    return;
  }
  const lower = host.toLowerCase().replace(/\.$/, "");
  if (!opts.resolve || TRUSTED_SUFFIXES.some((s) => lower.endsWith(s))) return;
  const limit = AbortSignal.timeout(DNS_CHECK_MS);
  const signal = opts.signal ? AbortSignal.any([opts.signal, limit]) : limit;
  const addresses = await opts.resolve(lower, signal).catch(() => [] as string[]);
  const bad = addresses.find(blockedAddress);
  if (bad !== undefined) throw refuse(bad);
}
