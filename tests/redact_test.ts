/**
 * Redaction of secrets in URLs (presigned query parameters, user:password), header values and free text.
 */

import assert from "node:assert/strict";
import { redactHeader, redactText, redactUrl } from "../src/registry/transport/redact.ts";

const S3 = "https://prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com/abc/def?" +
  "X-Amz-Security-Token=FwoGZXIvYXdzEXAMPLETOKEN&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20240101T000000Z" +
  "&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Credential=AKIAEXAMPLE%2F20240101%2Fus-east-1%2Fs3%2Faws4_request" +
  "&X-Amz-Signature=0123456789abcdef0123456789abcdef";

Deno.test("redactUrl: presigned S3 parameters are redacted, others kept", () => {
  const out = redactUrl(S3);
  for (const secret of ["FwoGZXIvYXdzEXAMPLETOKEN", "AKIAEXAMPLE", "0123456789abcdef0123456789abcdef"]) {
    assert.ok(!out.includes(secret), `${secret} leaked: ${out}`);
  }
  const q = new URL(out).searchParams;
  assert.equal(q.get("X-Amz-Signature"), "REDACTED");
  assert.equal(q.get("X-Amz-Credential"), "REDACTED");
  assert.equal(q.get("X-Amz-Security-Token"), "REDACTED");
  assert.equal(q.get("X-Amz-Algorithm"), "AWS4-HMAC-SHA256");
  assert.equal(q.get("X-Amz-Date"), "20240101T000000Z");
  assert.equal(new URL(out).pathname, "/abc/def");
  assert.equal(new URL(out).host, "prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com");
});

Deno.test("redactUrl: other signed-URL schemes (GCS, Azure SAS, CloudFront, tokens)", () => {
  const cases = [
    "https://storage.googleapis.com/b/o?X-Goog-Signature=gsig&X-Goog-Credential=gcred&x=1",
    "https://acct.blob.core.windows.net/c/b?sv=2021&se=2024&sig=azsig&sp=r",
    "https://d111.cloudfront.net/blob?Policy=pol&Signature=cfsig&Key-Pair-Id=kpid&Expires=1",
    "https://auth.example/token?access_token=at&refresh_token=rt&token=t0&password=pw&scope=x",
  ];
  const secrets = ["gsig", "gcred", "azsig", "pol", "cfsig", "kpid", "=at", "=rt", "t0", "=pw"];
  for (const url of cases) {
    const out = redactUrl(url);
    for (const s of secrets) assert.ok(!out.includes(s), `${s} leaked from ${url}: ${out}`);
  }
  assert.match(redactUrl(cases[0]), /x=1/);
  assert.match(redactUrl(cases[1]), /sp=r/);
  assert.match(redactUrl(cases[3]), /scope=x/);
});

Deno.test("redactUrl: user info is removed", () => {
  const out = redactUrl("https://user:hunter2@registry.example:5000/v2/?a=b");
  assert.ok(!out.includes("hunter2"));
  assert.ok(!out.includes("user"));
  assert.equal(out, "https://registry.example:5000/v2/?a=b");
  assert.equal(redactUrl("https://tokenonly@r.example/x"), "https://r.example/x");
});

Deno.test("redactUrl: parameter names are case-insensitive and repeated ones all go", () => {
  const out = redactUrl("https://s.example/?x-amz-signature=a1&X-AMZ-SIGNATURE=b2&Sig=c3");
  for (const s of ["a1", "b2", "c3"]) assert.ok(!out.includes(s), out);
});

Deno.test("redactUrl: a URL without secrets is unchanged; an invalid one is not echoed", () => {
  assert.equal(
    redactUrl("https://ghcr.io/v2/org/app/manifests/1.0"),
    "https://ghcr.io/v2/org/app/manifests/1.0",
  );
  assert.equal(redactUrl("not a url with secret=abc"), "<invalid url>");
  assert.equal(redactUrl(""), "<invalid url>");
});

Deno.test("redactHeader: credentials are reduced to their scheme", () => {
  assert.equal(redactHeader("Authorization", "Bearer eyJhbGciOiJSUzI1NiJ9.payload.sig"), "Bearer REDACTED");
  assert.equal(redactHeader("authorization", "Basic dXNlcjpwYXNz"), "Basic REDACTED");
  assert.equal(redactHeader("AUTHORIZATION", "opaque-token-without-scheme"), "REDACTED");
  assert.equal(redactHeader("Proxy-Authorization", "Basic abc"), "Basic REDACTED");
  assert.equal(redactHeader("Cookie", "session=abc123; other=def"), "REDACTED");
  assert.equal(redactHeader("Set-Cookie", "session=abc123; Path=/; HttpOnly"), "REDACTED");
  assert.equal(redactHeader("X-Amz-Security-Token", "FwoGZXIvYXdz"), "REDACTED");
  assert.equal(redactHeader("X-Registry-Auth", "eyJ1c2VybmFtZSI6InUifQ=="), "REDACTED");
});

Deno.test("redactHeader: Location is a URL to redact; WWW-Authenticate tokens go; others are kept", () => {
  assert.ok(!redactHeader("Location", S3).includes("0123456789abcdef0123456789abcdef"));
  assert.ok(!redactHeader("content-location", "https://u:p@x.example/?sig=zz").includes("zz"));
  assert.equal(
    redactHeader("WWW-Authenticate", 'Bearer realm="https://a/t",error="invalid_token",token="leaky"'),
    'Bearer realm="https://a/t",error="invalid_token",token="REDACTED"',
  );
  assert.equal(redactHeader("Content-Type", "application/json"), "application/json");
  assert.equal(redactHeader("Docker-Content-Digest", "sha256:abc"), "sha256:abc");
});

Deno.test("redactText: listed secrets are removed wherever they appear", () => {
  const out = redactText("password is s3cr3tPW and again s3cr3tPW, key=AKIAXYZ123", [
    "s3cr3tPW",
    "AKIAXYZ123",
  ]);
  assert.equal(out, "password is REDACTED and again REDACTED, key=REDACTED");
});

Deno.test("redactText: short secrets are not used as patterns: secret values, not prose", () => {
  assert.equal(redactText("a b c", ["", "a"]), "a b c");
  // A short password must not rewrite repository names and paths in an error line.
  const line = "unauthorized to read manifest team/demo-app:latest from r.example (see ~/demo/notes)";
  assert.equal(redactText(line, ["demo"]), line);
  // "Bearer challenge" is prose, not a credential; a token after Bearer is one.
  assert.equal(
    redactText("the registry answered 401 with a Bearer challenge", []),
    "the registry answered 401 with a Bearer challenge",
  );
  assert.equal(redactText("Authorization: Bearer abcdefgh12345678", []), "Authorization: Bearer REDACTED");
});

Deno.test("redactText: Bearer and Basic values, JWTs and presigned parameters", () => {
  const jwt = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlX2hlcmU";
  const text = [
    "Authorization: Bearer abc.def-ghi_jkl~mno+pqr/stu=",
    "Authorization: Basic dXNlcjpwYXNzd29yZA==",
    `token in body: ${jwt}`,
    "GET https://s3.example/x?X-Amz-Signature=deadbeef&X-Amz-Credential=AKIA%2Fx&ok=1",
    "https://a.example/?access_token=zzz999 done",
  ].join("\n");
  const out = redactText(text);
  for (
    const s of [
      "abc.def-ghi",
      "dXNlcjpwYXNzd29yZA",
      "c2lnbmF0dXJlX2hlcmU",
      "eyJzdWIi",
      "deadbeef",
      "AKIA",
      "zzz999",
    ]
  ) {
    assert.ok(!out.includes(s), `${s} leaked:\n${out}`);
  }
  assert.match(out, /Authorization: Bearer REDACTED/);
  assert.match(out, /Authorization: Basic REDACTED/);
  assert.match(out, /ok=1/);
  assert.match(out, / done$/);
});

Deno.test("redactText: a lower-case bearer scheme is redacted too (schemes are case-insensitive)", () => {
  const out = redactText("authorization: bearer abcdef123456");
  assert.ok(!out.includes("abcdef123456"), out);
  const out2 = redactText("Authorization: BASIC dXNlcjpwYXNz");
  assert.ok(!out2.includes("dXNlcjpwYXNz"), out2);
});

Deno.test("redactText: text without secrets is unchanged", () => {
  const t = "GET https://ghcr.io/v2/org/app/manifests/sha256:abc returned 404 (Basic auth not used)";
  assert.equal(redactText(t.replace("(Basic auth not used)", "")), t.replace("(Basic auth not used)", ""));
  assert.equal(redactText("nothing to see"), "nothing to see");
});
