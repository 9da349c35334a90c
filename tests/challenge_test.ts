/**
 * WWW-Authenticate parsing (RFC 9110 §11.6.1): schemes and auth-params, quoted strings with commas and escapes,
 * several challenges in one header, token68 credentials, and hostile input that must never throw or loop.
 */

import assert from "node:assert/strict";
import { parseChallenges } from "../src/registry/transport/challenge.ts";

Deno.test("Bearer with realm, service and scope", () => {
  assert.deepStrictEqual(
    parseChallenges(
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
    ),
    [{
      scheme: "bearer",
      params: {
        realm: "https://auth.docker.io/token",
        service: "registry.docker.io",
        scope: "repository:library/alpine:pull",
      },
    }],
  );
});

Deno.test("a comma inside a quoted value does not split the parameter", () => {
  const [c] = parseChallenges(
    'Bearer realm="https://ghcr.io/token",scope="repository:a/b:pull,push",service="ghcr.io"',
  );
  assert.equal(c.params.scope, "repository:a/b:pull,push");
  assert.equal(c.params.service, "ghcr.io");
  assert.equal(c.params.realm, "https://ghcr.io/token");
});

Deno.test("several challenges in one header", () => {
  assert.deepStrictEqual(parseChallenges('Basic realm="x", Bearer realm="y"'), [
    { scheme: "basic", params: { realm: "x" } },
    { scheme: "bearer", params: { realm: "y" } },
  ]);
  assert.deepStrictEqual(
    parseChallenges('Bearer realm="y",service="s" , Basic realm="Registry Realm",charset="UTF-8"'),
    [
      { scheme: "bearer", params: { realm: "y", service: "s" } },
      { scheme: "basic", params: { realm: "Registry Realm", charset: "UTF-8" } },
    ],
  );
});

Deno.test("scheme and parameter names are case-insensitive, values keep their case", () => {
  assert.deepStrictEqual(parseChallenges('BEARER Realm="https://A.example/T", SERVICE=Reg.Example'), [
    { scheme: "bearer", params: { realm: "https://A.example/T", service: "Reg.Example" } },
  ]);
});

Deno.test("unquoted token values and optional white space around '='", () => {
  assert.deepStrictEqual(parseChallenges("Basic realm=simple , charset = UTF-8"), [
    { scheme: "basic", params: { realm: "simple", charset: "UTF-8" } },
  ]);
  assert.deepStrictEqual(parseChallenges('Bearer  realm = "r" ,\tservice="s"'), [
    { scheme: "bearer", params: { realm: "r", service: "s" } },
  ]);
});

Deno.test("escaped quotes and backslashes in a quoted string", () => {
  const [c] = parseChallenges('Basic realm="say \\"hi\\" to \\\\ me", error="a\\,b"');
  assert.equal(c.params.realm, 'say "hi" to \\ me');
  assert.equal(c.params.error, "a,b");
});

Deno.test("an empty quoted value is kept", () => {
  assert.deepStrictEqual(parseChallenges('Bearer realm="",service="s"'), [
    { scheme: "bearer", params: { realm: "", service: "s" } },
  ]);
});

Deno.test("token68 credentials", () => {
  assert.deepStrictEqual(parseChallenges("Negotiate YIIB=="), [{
    scheme: "negotiate",
    params: { "": "YIIB==" },
  }]);
  assert.deepStrictEqual(parseChallenges("NTLM TlRMTVNTUAACAAAA"), [{
    scheme: "ntlm",
    params: { "": "TlRMTVNTUAACAAAA" },
  }]);
  assert.deepStrictEqual(parseChallenges('Negotiate abc/+_-.~==, Basic realm="x"'), [
    { scheme: "negotiate", params: { "": "abc/+_-.~==" } },
    { scheme: "basic", params: { realm: "x" } },
  ]);
});

Deno.test("token68 with a single '=' pad followed by another challenge", () => {
  // An auth-param value cannot be empty (RFC 9110: token / quoted-string), so "abc=" here is token68.
  assert.deepStrictEqual(parseChallenges('Negotiate abc=, Basic realm="x"'), [
    { scheme: "negotiate", params: { "": "abc=" } },
    { scheme: "basic", params: { realm: "x" } },
  ]);
});

Deno.test("a scheme without parameters", () => {
  assert.deepStrictEqual(parseChallenges("Basic"), [{ scheme: "basic", params: {} }]);
  assert.deepStrictEqual(parseChallenges("Basic, Bearer realm=x"), [
    { scheme: "basic", params: {} },
    { scheme: "bearer", params: { realm: "x" } },
  ]);
});

Deno.test("absent or empty headers give no challenges", () => {
  assert.deepStrictEqual(parseChallenges(null), []);
  assert.deepStrictEqual(parseChallenges(undefined), []);
  assert.deepStrictEqual(parseChallenges(""), []);
  assert.deepStrictEqual(parseChallenges("  ,  , "), []);
});

Deno.test("an unterminated quoted string ends the parse but keeps what was read", () => {
  assert.deepStrictEqual(parseChallenges('Bearer realm="https://a/t",service="unterminated'), [
    { scheme: "bearer", params: { realm: "https://a/t" } },
  ]);
});

Deno.test("junk after a quoted value ends the parse", () => {
  assert.deepStrictEqual(parseChallenges('Bearer realm="r"junk, Basic realm="b"'), [
    { scheme: "bearer", params: { realm: "r" } },
  ]);
});

Deno.test("garbage never throws, never loops, and returns well-formed challenges", () => {
  const garbage = [
    "=",
    "==",
    '"',
    '""""',
    "\\",
    'Bearer realm="\\',
    "Bearer realm=",
    "Bearer ,,,,, ,,, realm",
    "Bearer =x",
    "realm=x",
    ",=,=,=",
    "Bearer realm==x",
    "Bearer \u0000\u0001",
    'Bearer réalm="ü"',
    "(){}<>@",
    'Bearer realm="a", , , scope="b"',
    "\t\t\t",
    "a ".repeat(5000),
    "a=".repeat(5000),
    '"'.repeat(20_000),
    "Bearer " + 'k="v",'.repeat(10_000),
    "Bearer realm=" + "x".repeat(100_000),
  ];
  for (const g of garbage) {
    const started = performance.now();
    const out = parseChallenges(g);
    const ms = performance.now() - started;
    assert.ok(ms < 200, `${JSON.stringify(g.slice(0, 30))} took ${ms} ms`);
    assert.ok(Array.isArray(out));
    for (const c of out) {
      assert.equal(typeof c.scheme, "string");
      assert.ok(c.scheme.length > 0);
      assert.equal(c.scheme, c.scheme.toLowerCase());
      for (const [k, v] of Object.entries(c.params)) {
        assert.equal(typeof k, "string");
        assert.equal(typeof v, "string");
      }
    }
  }
});

Deno.test("huge headers are read only up to a bound", () => {
  const big = "Bearer " + Array.from({ length: 20_000 }, (_, i) => `p${i}="v"`).join(",");
  const [c] = parseChallenges(big);
  assert.equal(c.scheme, "bearer");
  const n = Object.keys(c.params).length;
  assert.ok(n > 100 && n < 20_000, `${n} params read`);
});

Deno.test("params named like Object.prototype members are plain own values", () => {
  const [c] = parseChallenges('Bearer __proto__="x", constructor="y", realm="r"');
  assert.equal(c.params.realm, "r");
  assert.equal(c.params.constructor, "y");
  assert.equal(
    Object.getPrototypeOf(c.params),
    Object.prototype,
    "the params object's prototype is unchanged",
  );
});
