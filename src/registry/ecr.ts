/**
 * Amazon ECR host names, for every partition and endpoint form.
 *
 * ```
 * <account>.dkr.ecr.<region>.amazonaws.com          commercial
 * <account>.dkr.ecr-fips.<region>.amazonaws.com     FIPS
 * <account>.dkr.ecr.<region>.amazonaws.com.cn       China
 * <account>.dkr-ecr.<region>.on.aws                 dual-stack
 * <account>.dkr-ecr-fips.<region>.on.aws            dual-stack FIPS
 * <account>.dkr.ecr.<region>.c2s.ic.gov / sc2s.sgov.gov / cloud.adc-e.uk / csp.hci.ic.gov   isolated
 * ```
 *
 * @module
 */

/** What an ECR host name says. */
export interface EcrHost {
  accountId: string;
  region: string;
  fips: boolean;
  dualStack: boolean;
}

const ECR_HOST =
  /^(\d{12})\.(dkr\.ecr|dkr\.ecr-fips|dkr-ecr|dkr-ecr-fips)\.([a-z]{2}(?:-[a-z]+)+-\d+)\.(amazonaws\.com|amazonaws\.com\.cn|on\.aws|c2s\.ic\.gov|sc2s\.sgov\.gov|cloud\.adc-e\.uk|csp\.hci\.ic\.gov)$/;

/**
 * Parse a private ECR registry host name (port ignored); `undefined` when it is not one.
 *
 * @example
 * ```ts
 * parseEcrHost("772738948692.dkr.ecr.us-east-1.amazonaws.com");
 * // { accountId: "772738948692", region: "us-east-1", fips: false, dualStack: false }
 * ```
 */
export function parseEcrHost(host: string): EcrHost | undefined {
  const m = ECR_HOST.exec(host.toLowerCase().replace(/:\d+$/, ""));
  if (!m) return undefined;
  const kind = m[2];
  const suffix = m[4];
  if ((kind.startsWith("dkr-ecr")) !== (suffix === "on.aws")) return undefined;
  return {
    accountId: m[1],
    region: m[3],
    fips: kind.endsWith("fips"),
    dualStack: kind.startsWith("dkr-ecr"),
  };
}

/** Whether the host is ECR Public (anonymous pulls through its token realm). */
export function isEcrPublic(host: string): boolean {
  return host.toLowerCase() === "public.ecr.aws";
}
