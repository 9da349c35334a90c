/**
 * Amazon ECR host names: every partition and endpoint form is recognised with its account, region, FIPS and
 * dual-stack flags; look-alikes are not.
 */

import assert from "node:assert/strict";
import { type EcrHost, isEcrPublic, parseEcrHost } from "../src/registry/ecr.ts";

const ACCOUNT = "772738948692";

const VALID: [string, EcrHost][] = [
  [`${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`, {
    accountId: ACCOUNT,
    region: "us-east-1",
    fips: false,
    dualStack: false,
  }],
  [`${ACCOUNT}.dkr.ecr.ap-southeast-2.amazonaws.com`, {
    accountId: ACCOUNT,
    region: "ap-southeast-2",
    fips: false,
    dualStack: false,
  }],
  [`${ACCOUNT}.dkr.ecr.me-central-1.amazonaws.com`, {
    accountId: ACCOUNT,
    region: "me-central-1",
    fips: false,
    dualStack: false,
  }],
  [`${ACCOUNT}.dkr.ecr-fips.us-east-1.amazonaws.com`, {
    accountId: ACCOUNT,
    region: "us-east-1",
    fips: true,
    dualStack: false,
  }],
  [`${ACCOUNT}.dkr.ecr-fips.us-gov-west-1.amazonaws.com`, {
    accountId: ACCOUNT,
    region: "us-gov-west-1",
    fips: true,
    dualStack: false,
  }],
  [`${ACCOUNT}.dkr.ecr.us-gov-east-1.amazonaws.com`, {
    accountId: ACCOUNT,
    region: "us-gov-east-1",
    fips: false,
    dualStack: false,
  }],
  [`${ACCOUNT}.dkr.ecr.cn-north-1.amazonaws.com.cn`, {
    accountId: ACCOUNT,
    region: "cn-north-1",
    fips: false,
    dualStack: false,
  }],
  [`${ACCOUNT}.dkr.ecr.cn-northwest-1.amazonaws.com.cn`, {
    accountId: ACCOUNT,
    region: "cn-northwest-1",
    fips: false,
    dualStack: false,
  }],
  [`${ACCOUNT}.dkr-ecr.us-west-2.on.aws`, {
    accountId: ACCOUNT,
    region: "us-west-2",
    fips: false,
    dualStack: true,
  }],
  [`${ACCOUNT}.dkr-ecr-fips.us-east-2.on.aws`, {
    accountId: ACCOUNT,
    region: "us-east-2",
    fips: true,
    dualStack: true,
  }],
  [`${ACCOUNT}.dkr.ecr.us-iso-east-1.c2s.ic.gov`, {
    accountId: ACCOUNT,
    region: "us-iso-east-1",
    fips: false,
    dualStack: false,
  }],
  [`${ACCOUNT}.dkr.ecr.us-isob-east-1.sc2s.sgov.gov`, {
    accountId: ACCOUNT,
    region: "us-isob-east-1",
    fips: false,
    dualStack: false,
  }],
  [`${ACCOUNT}.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk`, {
    accountId: ACCOUNT,
    region: "eu-isoe-west-1",
    fips: false,
    dualStack: false,
  }],
  [`${ACCOUNT}.dkr.ecr.us-isof-south-1.csp.hci.ic.gov`, {
    accountId: ACCOUNT,
    region: "us-isof-south-1",
    fips: false,
    dualStack: false,
  }],
  [`${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com:443`, {
    accountId: ACCOUNT,
    region: "us-east-1",
    fips: false,
    dualStack: false,
  }],
  [`${ACCOUNT}.dkr-ecr.eu-west-1.on.aws:8443`, {
    accountId: ACCOUNT,
    region: "eu-west-1",
    fips: false,
    dualStack: true,
  }],
  [`${ACCOUNT}.DKR.ECR.US-EAST-1.AMAZONAWS.COM`, {
    accountId: ACCOUNT,
    region: "us-east-1",
    fips: false,
    dualStack: false,
  }],
  ["000000000000.dkr.ecr.eu-central-2.amazonaws.com", {
    accountId: "000000000000",
    region: "eu-central-2",
    fips: false,
    dualStack: false,
  }],
];

for (const [host, expected] of VALID) {
  Deno.test(`parseEcrHost recognises ${host}`, () => {
    assert.deepStrictEqual(parseEcrHost(host), expected);
  });
}

const INVALID = [
  "public.ecr.aws",
  "ghcr.io",
  "docker.io",
  "",
  "77273894869.dkr.ecr.us-east-1.amazonaws.com", // 11 digits
  "7727389486921.dkr.ecr.us-east-1.amazonaws.com", // 13 digits
  "77273894869a.dkr.ecr.us-east-1.amazonaws.com",
  `${ACCOUNT}.dkr-ecr.us-east-1.amazonaws.com`, // dual-stack name on the IPv4 domain
  `${ACCOUNT}.dkr-ecr-fips.us-east-1.amazonaws.com`,
  `${ACCOUNT}.dkr.ecr.us-east-1.on.aws`, // IPv4 name on the dual-stack domain
  `${ACCOUNT}.dkr.ecr-fips.us-east-1.on.aws`,
  `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com.evil.com`,
  `evil.com.${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`,
  `x${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`,
  `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.co`,
  `${ACCOUNT}.dkr.ecr.amazonaws.com`, // no region
  `${ACCOUNT}.dkr.ecr.useast1.amazonaws.com`,
  `${ACCOUNT}.dkr.ecr.us-east.amazonaws.com`,
  `${ACCOUNT}.ecr.us-east-1.amazonaws.com`,
  `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/path`,
  `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com:`,
  `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com:abc`,
  `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com.`,
  `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com.cn.evil`,
  `${ACCOUNT}.dkr.ecr.us-east-1.c2s.ic.gov.evil.com`,
  ` ${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`,
  `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com\n`,
  "api.ecr.us-east-1.amazonaws.com",
];

Deno.test("parseEcrHost rejects look-alikes and other registries", () => {
  for (const host of INVALID) {
    assert.equal(parseEcrHost(host), undefined, JSON.stringify(host));
  }
});

Deno.test("parseEcrHost is fast on long hostile input", () => {
  const long = `${"1".repeat(12)}.dkr.ecr.${"a-".repeat(50_000)}1.amazonaws.com.x`;
  const started = performance.now();
  assert.equal(parseEcrHost(long), undefined);
  assert.ok(performance.now() - started < 200);
});

Deno.test("isEcrPublic", () => {
  assert.equal(isEcrPublic("public.ecr.aws"), true);
  assert.equal(isEcrPublic("PUBLIC.ECR.AWS"), true);
  assert.equal(isEcrPublic("public.ecr.aws.evil.com"), false);
  assert.equal(isEcrPublic("evilpublic.ecr.aws"), false);
  assert.equal(isEcrPublic(`${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`), false);
  assert.equal(isEcrPublic("ecr.aws"), false);
  assert.equal(parseEcrHost("public.ecr.aws"), undefined);
});
