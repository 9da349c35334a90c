/**
 * Image references: the distribution reference grammar, Docker Hub normalisation, the API host, and the
 * canonical text. Invalid references must be ReferenceErrors (exit code 2) that say what is wrong.
 */

import assert from "node:assert/strict";
import { ReferenceError, ToolError, UsageError } from "../src/errors.ts";
import { apiHost, DOCKER_HUB, formatReference, manifestReference, parseReference } from "../src/reference.ts";

const HEX = "0123456789abcdef".repeat(4);
const DIGEST = `sha256:${HEX}`;

const VALID: [string, { registry: string; repository: string; tag?: string; digest?: string }][] = [
  ["alpine", { registry: "docker.io", repository: "library/alpine", tag: "latest" }],
  ["alpine:3.20", { registry: "docker.io", repository: "library/alpine", tag: "3.20" }],
  ["docker.io/alpine", { registry: "docker.io", repository: "library/alpine", tag: "latest" }],
  ["docker.io/library/alpine", { registry: "docker.io", repository: "library/alpine", tag: "latest" }],
  ["index.docker.io/library/alpine", { registry: "docker.io", repository: "library/alpine", tag: "latest" }],
  ["index.docker.io/alpine:edge", { registry: "docker.io", repository: "library/alpine", tag: "edge" }],
  ["registry-1.docker.io/bitnami/redis", {
    registry: "docker.io",
    repository: "bitnami/redis",
    tag: "latest",
  }],
  ["bitnami/redis:7", { registry: "docker.io", repository: "bitnami/redis", tag: "7" }],
  ["localhost/app", { registry: "localhost", repository: "app", tag: "latest" }],
  ["localhost:5000/a/b/c:tag", { registry: "localhost:5000", repository: "a/b/c", tag: "tag" }],
  [`127.0.0.1:5000/x@${DIGEST}`, { registry: "127.0.0.1:5000", repository: "x", digest: DIGEST }],
  [`ghcr.io/org/app:1.0@${DIGEST}`, {
    registry: "ghcr.io",
    repository: "org/app",
    tag: "1.0",
    digest: DIGEST,
  }],
  ["[::1]:5000/x:y", { registry: "[::1]:5000", repository: "x", tag: "y" }],
  ["[::1]/x", { registry: "[::1]", repository: "x", tag: "latest" }],
  [
    "772738948692.dkr.ecr.us-east-1.amazonaws.com/os_build_env:latest",
    { registry: "772738948692.dkr.ecr.us-east-1.amazonaws.com", repository: "os_build_env", tag: "latest" },
  ],
  [
    "772738948692.dkr.ecr.us-east-1.amazonaws.com/team/sub/os_build_env",
    {
      registry: "772738948692.dkr.ecr.us-east-1.amazonaws.com",
      repository: "team/sub/os_build_env",
      tag: "latest",
    },
  ],
  ["ghcr.io/org/team/app", { registry: "ghcr.io", repository: "org/team/app", tag: "latest" }],
  ["quay.io/a__b/c-d/e.f:v1.2.3-rc_1", {
    registry: "quay.io",
    repository: "a__b/c-d/e.f",
    tag: "v1.2.3-rc_1",
  }],
  ["a__b", { registry: "docker.io", repository: "library/a__b", tag: "latest" }],
  ["a-b", { registry: "docker.io", repository: "library/a-b", tag: "latest" }],
  ["a---b", { registry: "docker.io", repository: "library/a---b", tag: "latest" }],
  ["a.b", { registry: "docker.io", repository: "library/a.b", tag: "latest" }],
  ["a_b", { registry: "docker.io", repository: "library/a_b", tag: "latest" }],
  ["myregistry/app", { registry: "docker.io", repository: "myregistry/app", tag: "latest" }],
  ["registry.example:443/app:_tag", { registry: "registry.example:443", repository: "app", tag: "_tag" }],
  ["  alpine  ", { registry: "docker.io", repository: "library/alpine", tag: "latest" }],
  [`alpine@${DIGEST}`, { registry: "docker.io", repository: "library/alpine", digest: DIGEST }],
  [`x@sha512:${"ab".repeat(64)}`, {
    registry: "docker.io",
    repository: "library/x",
    digest: `sha512:${"ab".repeat(64)}`,
  }],
  ["localhost:5000", { registry: "docker.io", repository: "library/localhost", tag: "5000" }],
  ["a".repeat(10) + ":" + "T".repeat(128), {
    registry: "docker.io",
    repository: "library/aaaaaaaaaa",
    tag: "T".repeat(128),
  }],
];

for (const [input, expected] of VALID) {
  Deno.test(`parseReference accepts ${JSON.stringify(input.length > 70 ? input.slice(0, 70) + "..." : input)}`, () => {
    assert.deepStrictEqual({ ...parseReference(input) }, expected);
  });
}

Deno.test("parseReference keeps a nested path whole and does not require a tag", () => {
  const r = parseReference("registry.example.com/one/two/three/four");
  assert.equal(r.repository, "one/two/three/four");
  assert.equal(r.registry, "registry.example.com");
  assert.equal(r.tag, "latest");
  const d = parseReference(`registry.example.com/one/two@${DIGEST}`);
  assert.equal(d.repository, "one/two");
  assert.equal(d.tag, undefined, "a digest-only reference gets no implicit tag");
  assert.equal(d.digest, DIGEST);
});

Deno.test("apiHost maps docker.io to registry-1.docker.io and leaves others alone", () => {
  assert.equal(DOCKER_HUB, "docker.io");
  assert.equal(apiHost("docker.io"), "registry-1.docker.io");
  assert.equal(apiHost(parseReference("alpine").registry), "registry-1.docker.io");
  assert.equal(apiHost("ghcr.io"), "ghcr.io");
  assert.equal(apiHost("localhost:5000"), "localhost:5000");
  assert.equal(apiHost("[::1]:5000"), "[::1]:5000");
});

Deno.test("manifestReference prefers the digest, then the tag", () => {
  assert.equal(manifestReference(parseReference(`a:b@${DIGEST}`)), DIGEST);
  assert.equal(manifestReference(parseReference("a:b")), "b");
  assert.equal(manifestReference(parseReference("a")), "latest");
  assert.equal(manifestReference({ registry: "r.io", repository: "x" }), "latest");
});

Deno.test("formatReference gives the canonical text", () => {
  assert.equal(formatReference(parseReference("alpine")), "docker.io/library/alpine:latest");
  assert.equal(formatReference(parseReference("index.docker.io/foo/bar:1")), "docker.io/foo/bar:1");
  assert.equal(
    formatReference(parseReference(`localhost:5000/a/b@${DIGEST}`)),
    `localhost:5000/a/b@${DIGEST}`,
  );
  assert.equal(formatReference(parseReference(`ghcr.io/o/a:t@${DIGEST}`)), `ghcr.io/o/a:t@${DIGEST}`);
  assert.equal(formatReference(parseReference("[::1]:5000/x:y")), "[::1]:5000/x:y");
  assert.equal(formatReference({ registry: "r.io", repository: "x" }), "r.io/x");
});

Deno.test("formatReference output parses back to the same reference", () => {
  for (const [input] of VALID) {
    const once = parseReference(input);
    const twice = parseReference(formatReference(once));
    assert.deepStrictEqual(twice, once, input);
  }
});

const INVALID: [string, RegExp][] = [
  ["", /empty/],
  ["   ", /empty/],
  ["Alpine", /lower-case/],
  ["library/Alpine", /lower-case/],
  ["ghcr.io/Org/app", /lower-case/],
  ["my image", /white space/],
  ["alpine\t:3", /white space/],
  ["alpine:", /tag "" is invalid/],
  ["alpine:-x", /tag "-x" is invalid/],
  ["alpine:.x", /tag ".x" is invalid/],
  ["alpine:a+b", /tag "a\+b" is invalid/],
  ["alpine:" + "a".repeat(129), /tag .* is invalid.*at most 128/],
  ["alpine@sha256:abc", /not a valid digest/],
  [`alpine@sha256:${HEX.toUpperCase()}`, /not a valid digest/],
  [`alpine@md5:${HEX}`, /not a valid digest/],
  [`alpine@${HEX}`, /not a valid digest/],
  ["alpine@", /not a valid digest/],
  [`alpine@${DIGEST}@${DIGEST}`, /not a valid digest/],
  ["https://ghcr.io/org/app", /scheme/],
  ["http://localhost:5000/app", /scheme/],
  ["a//b", /empty component/],
  ["ghcr.io/org//app", /empty component/],
  ["a/b/", /empty component/],
  ["ghcr.io/", /repository name is missing|empty component/],
  ["/alpine", /empty component/],
  [`@${DIGEST}`, /repository name is missing/],
  [":tag", /repository name is missing/],
  ["a_/b", /"a_" is not a valid repository path component/],
  ["-a", /"-a" is not a valid repository path component/],
  ["a___b", /"a___b" is not a valid repository path component/],
  ["a..b", /"a..b" is not a valid repository path component/],
  ["héllo", /"héllo" is not a valid repository path component/],
  ["my_host.com/app", /"my_host.com" is not a valid registry host/],
  ["-bad.com/app", /"-bad.com" is not a valid registry host/],
  ["localhost:0/app", /"localhost:0" is not a valid registry host/],
  ["localhost:65536/app", /"localhost:65536" is not a valid registry host/],
  ["foo.com:/app", /"foo.com:" is not a valid registry host/],
  ["host.:5000/app", /not a valid registry host/],
  ["[::1/app", /not a valid registry host/],
  ["ghcr.io/" + "a".repeat(256), /longer than 255/],
  ["a/".repeat(128), /longer than 255|empty component/],
  ["b/".repeat(128) + "b", /longer than 255/],
];

for (const [input, why] of INVALID) {
  Deno.test(`parseReference rejects ${JSON.stringify(input.length > 60 ? input.slice(0, 60) + "..." : input)}`, () => {
    let thrown: unknown;
    try {
      parseReference(input);
    } catch (err) {
      thrown = err;
    }
    assert.ok(thrown !== undefined, `expected ${JSON.stringify(input)} to be rejected`);
    assert.ok(thrown instanceof ReferenceError, `expected ReferenceError, got ${thrown}`);
    assert.ok(thrown instanceof UsageError);
    assert.ok(thrown instanceof ToolError);
    assert.equal(thrown.exitCode, 2);
    assert.equal(thrown.name, "ReferenceError");
    assert.match(thrown.message, /^invalid image reference /);
    assert.match(thrown.message, why);
    assert.ok(thrown.hint && /REPOSITORY/.test(thrown.hint), "the hint shows the expected form");
    assert.ok(!thrown.oneLine().includes("\n"));
    assert.ok(thrown.message.length < 400, `the message is ${thrown.message.length} characters long`);
  });
}

Deno.test("the 255 character limit is the repository path's, inclusive, not the host's with it", () => {
  // distribution/reference since v0.6.0: a long ECR host does not eat into the repository name.
  const reg = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
  const ok = `${reg}/${"a".repeat(255)}`;
  assert.equal(parseReference(ok).repository.length, 255);
  assert.throws(() => parseReference(`${ok}a`), ReferenceError);
  // 220 characters: refused before (the host counted), accepted now.
  assert.equal(parseReference(`${reg}/team/${"r".repeat(215)}:1`).repository.length, 220);
});

Deno.test("a 128 character tag is accepted and a 129 character tag is not", () => {
  assert.equal(parseReference(`x:${"a".repeat(128)}`).tag, "a".repeat(128));
  assert.throws(() => parseReference(`x:${"a".repeat(129)}`), ReferenceError);
});

Deno.test("an overlong invalid input is shortened in the message", () => {
  const long = "A".repeat(10_000);
  assert.throws(() => parseReference(long), (err: unknown) => {
    assert.ok(err instanceof ReferenceError);
    assert.ok(err.message.length < 400, `the message is ${err.message.length} characters long`);
    assert.match(err.message, /\.\.\./);
    return true;
  });
});
