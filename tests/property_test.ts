/**
 * Property tests (fast-check): every parser and decoder of untrusted input returns a value or throws its own
 * ToolError subclass, never anything else (no TypeError, RangeError, ...), and finishes each call quickly.
 * Inputs: arbitrary strings (full Unicode), arbitrary JSON, and structured generators of near-valid references,
 * platforms, challenges, digests, manifests and configs. Plus round trips: formatReference after
 * parseReference is stable, and generated WWW-Authenticate headers parse back to what was generated.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  ManifestError,
  PlatformError,
  PlatformNotFoundError,
  ReferenceError,
  ToolError,
  UnsupportedError,
} from "../src/errors.ts";
import { parseDigest } from "../src/digest.ts";
import { MediaTypes } from "../src/image.ts";
import { chooseFromIndex, decodeConfig, decodeManifest } from "../src/manifest.ts";
import { parsePlatform } from "../src/platform.ts";
import { formatReference, parseReference, type Reference } from "../src/reference.ts";
import { parseChallenges } from "../src/registry/transport/challenge.ts";

const RUNS = 1000;
const MAX_MS = 50;
const enc = new TextEncoder();

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Run `fn`, timing it; fail when it took longer than MAX_MS or threw something that is not one of `allowed`. */
function outcome<T>(
  fn: () => T,
  allowed: (abstract new (...args: never[]) => Error)[],
  label: string,
): Outcome<T> {
  const timed = (): [Outcome<T>, number] => {
    const started = performance.now();
    let out: Outcome<T>;
    try {
      out = { ok: true, value: fn() };
    } catch (error) {
      out = { ok: false, error };
    }
    return [out, performance.now() - started];
  };
  let [r, ms] = timed();
  // A GC pause or a busy CI core can stall one call; an input that is really slow is slow every time.
  if (ms > MAX_MS) [r, ms] = timed();
  if (ms > MAX_MS) throw new Error(`${label} took ${ms.toFixed(1)} ms (twice)`);
  if (!r.ok && !allowed.some((c) => r.ok === false && r.error instanceof c)) {
    const e = r.error as Error;
    throw new Error(`${label} threw ${e?.name ?? typeof e}: ${String(e?.message ?? e).slice(0, 200)}`);
  }
  if (!r.ok) {
    const e = r.error as ToolError;
    assert.ok(e instanceof ToolError);
    assert.equal(typeof e.message, "string");
    assert.ok(e.message.length > 0);
    assert.ok(!e.oneLine().includes("\n"), "one line");
  }
  return r;
}

/** Any string: full Unicode (lone surrogates included), ASCII, and control-heavy ones. */
const anyString = fc.oneof(
  fc.string({ unit: "binary", maxLength: 300 }),
  fc.string({ unit: "grapheme", maxLength: 300 }),
  fc.string({ unit: "binary-ascii", maxLength: 300 }),
  fc.string({
    unit: fc.constantFrom("a", "A", "/", ":", "@", ".", "-", "_", "[", "]", " ", "\t", "=", '"', "\\", ","),
    maxLength: 300,
  }),
);

// ---------------------------------------------------------------------------------------------------------------
// references

const alnum = (min: number, max: number) =>
  fc.string({
    unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789"),
    minLength: min,
    maxLength: max,
  });
const separator = fc.constantFrom(".", "_", "__", "-", "--", "---");
const component = fc.tuple(alnum(1, 6), fc.array(fc.tuple(separator, alnum(1, 5)), { maxLength: 3 })).map((
  [head, rest],
) => head + rest.map(([s, a]) => s + a).join(""));
/** Components without '.', so the first one can never look like a host. */
const plainComponent = fc.tuple(
  alnum(1, 6),
  fc.array(fc.tuple(fc.constantFrom("_", "__", "-"), alnum(1, 5)), { maxLength: 3 }),
)
  .map(([head, rest]) => head + rest.map(([s, a]) => s + a).join(""));
const label = fc.tuple(
  fc.string({
    unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
    minLength: 1,
    maxLength: 6,
  }),
  fc.option(fc.string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789-"), maxLength: 4 }), {
    nil: undefined,
  }),
  fc.constantFrom(..."abcz09"),
)
  .map(([a, mid, z]) => (mid === undefined ? a : a + mid + z));
const port = fc.integer({ min: 1, max: 65535 });
const host = fc.oneof(
  fc.constantFrom("docker.io", "index.docker.io", "registry-1.docker.io", "localhost", "ghcr.io", "quay.io"),
  fc.constant("772738948692.dkr.ecr.us-east-1.amazonaws.com"),
  fc.tuple(fc.array(label, { minLength: 2, maxLength: 4 }), fc.option(port, { nil: undefined })).map((
    [ls, p],
  ) => ls.join(".") + (p === undefined ? "" : `:${p}`)),
  fc.tuple(label, port).map(([l, p]) => `${l}:${p}`),
  fc.tuple(fc.constant("localhost"), port).map(([l, p]) => `${l}:${p}`),
  fc.tuple(fc.ipV4(), fc.option(port, { nil: undefined })).map(([ip, p]) =>
    ip + (p === undefined ? "" : `:${p}`)
  ),
  fc.tuple(fc.ipV6(), fc.option(port, { nil: undefined })).map(([ip, p]) =>
    `[${ip}]` + (p === undefined ? "" : `:${p}`)
  ),
);
const tag = fc.tuple(
  fc.constantFrom(..."abcXYZ019_"),
  fc.string({ unit: fc.constantFrom(..."abcXYZ019_.-"), maxLength: 20 }),
).map(([a, b]) => a + b);
const hex = (n: number) =>
  fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: n, maxLength: n });
const digest = fc.oneof(hex(64).map((h) => `sha256:${h}`), hex(128).map((h) => `sha512:${h}`));

interface GeneratedRef {
  text: string;
  host?: string;
  path: string[];
  tag?: string;
  digest?: string;
}

const validReference: fc.Arbitrary<GeneratedRef> = fc.oneof(
  fc.record({
    host,
    path: fc.array(component, { minLength: 1, maxLength: 4 }),
    tag: fc.option(tag, { nil: undefined }),
    digest: fc.option(digest, { nil: undefined }),
  }),
  fc.record({
    host: fc.constant(undefined),
    path: fc.array(plainComponent, { minLength: 1, maxLength: 3 }),
    tag: fc.option(tag, { nil: undefined }),
    digest: fc.option(digest, { nil: undefined }),
  }),
).map((r) => ({
  ...r,
  text: `${r.host ? `${r.host}/` : ""}${r.path.join("/")}${r.tag ? `:${r.tag}` : ""}${
    r.digest ? `@${r.digest}` : ""
  }`,
}));

const DOCKER_HUB_NAMES = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);

/** Every field of a parsed reference obeys the grammar. */
function checkReference(ref: Reference) {
  assert.equal(typeof ref.registry, "string");
  assert.ok(ref.registry.length > 0);
  assert.ok(!/[\s/@]/.test(ref.registry), ref.registry);
  for (const c of ref.repository.split("/")) assert.match(c, /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/);
  if (ref.tag !== undefined) assert.match(ref.tag, /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/);
  if (ref.digest !== undefined) parseDigest(ref.digest);
  assert.ok(ref.tag !== undefined || ref.digest !== undefined);
  assert.ok(ref.registry.length + 1 + ref.repository.length <= 255);
}

Deno.test("property: parseReference on arbitrary strings gives a valid reference or a ReferenceError", () => {
  fc.assert(
    fc.property(anyString, (s) => {
      const r = outcome(() => parseReference(s), [ReferenceError], "parseReference");
      if (r.ok) checkReference(r.value);
    }),
    { numRuns: RUNS },
  );
});

Deno.test("property: generated valid references parse, keep the whole path, and round-trip", () => {
  fc.assert(
    fc.property(validReference, (g) => {
      const r = outcome(() => parseReference(g.text), [], `parseReference(${JSON.stringify(g.text)})`);
      assert.ok(r.ok);
      const ref = r.value;
      checkReference(ref);
      const hub = g.host === undefined || DOCKER_HUB_NAMES.has(g.host);
      assert.equal(ref.registry, hub ? "docker.io" : g.host);
      const path = g.path.join("/");
      assert.equal(ref.repository, hub && g.path.length === 1 ? `library/${path}` : path);
      assert.equal(ref.tag, g.tag ?? (g.digest ? undefined : "latest"));
      assert.equal(ref.digest, g.digest);
      const again = parseReference(formatReference(ref));
      assert.deepStrictEqual(again, ref);
      assert.equal(formatReference(again), formatReference(ref));
    }),
    { numRuns: RUNS },
  );
});

/** Small edits of a valid reference: insert, delete, replace a character, or change case. */
const mutatedReference = fc.tuple(
  validReference,
  fc.array(
    fc.tuple(
      fc.constantFrom("insert", "delete", "replace", "upper"),
      fc.nat(),
      fc.constantFrom(
        "/",
        ":",
        "@",
        ".",
        "-",
        "_",
        "A",
        " ",
        "//",
        "::",
        "[",
        "]",
        "é",
        "\u0000",
        "sha256:",
        "https://",
      ),
    ),
    { minLength: 1, maxLength: 3 },
  ),
).map(([g, edits]) => {
  let s = g.text;
  for (const [op, at, ch] of edits) {
    const i = s.length === 0 ? 0 : at % (s.length + 1);
    if (op === "insert") s = s.slice(0, i) + ch + s.slice(i);
    else if (op === "delete") s = s.slice(0, i) + s.slice(i + 1);
    else if (op === "replace") s = s.slice(0, i) + ch + s.slice(i + ch.length);
    else s = s.slice(0, i) + s.slice(i, i + 1).toUpperCase() + s.slice(i + 1);
  }
  return s;
});

Deno.test("property: near-valid references give a value (that round-trips) or a ReferenceError", () => {
  fc.assert(
    fc.property(mutatedReference, (s) => {
      const r = outcome(() => parseReference(s), [ReferenceError], `parseReference(${JSON.stringify(s)})`);
      if (!r.ok) return;
      checkReference(r.value);
      assert.deepStrictEqual(parseReference(formatReference(r.value)), r.value);
    }),
    { numRuns: RUNS },
  );
});

Deno.test("property: overlong references are rejected quickly", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 256, max: 20_000 }),
      fc.constantFrom("a", "a-", "a.", "a/", "A"),
      (n, unit) => {
        const s = unit.repeat(Math.ceil(n / unit.length)).slice(0, n);
        const r = outcome(() => parseReference(s), [ReferenceError], "parseReference(long)");
        assert.ok(!r.ok);
      },
    ),
    { numRuns: 200 },
  );
});

// ---------------------------------------------------------------------------------------------------------------
// platforms

const platformWord = fc.oneof(
  fc.constantFrom(
    "linux",
    "windows",
    "darwin",
    "macos",
    "amd64",
    "x86_64",
    "arm64",
    "aarch64",
    "arm",
    "armhf",
    "v7",
    "v8",
    "8",
    "s390x",
    "unknown",
    "constructor",
    "__proto__",
    "tostring",
    "valueof",
    "hasownproperty",
  ),
  alnum(1, 8),
);

Deno.test("property: parsePlatform gives string fields or a PlatformError", () => {
  const input = fc.oneof(
    anyString,
    fc.array(platformWord, { minLength: 1, maxLength: 4 }).map((ws) => ws.join("/")),
  );
  fc.assert(
    fc.property(input, (s) => {
      const r = outcome(() => parsePlatform(s), [PlatformError], `parsePlatform(${JSON.stringify(s)})`);
      if (!r.ok) return;
      const p = r.value;
      assert.equal(typeof p.os, "string", `os of ${JSON.stringify(s)} is a ${typeof p.os}`);
      assert.equal(
        typeof p.architecture,
        "string",
        `architecture of ${JSON.stringify(s)} is a ${typeof p.architecture}`,
      );
      assert.ok(p.variant === undefined || typeof p.variant === "string");
      assert.match(p.os, /^[a-z0-9][a-z0-9._-]*$/);
      assert.match(p.architecture, /^[a-z0-9][a-z0-9._-]*$/);
      // Normalised output is a fixed point.
      assert.deepStrictEqual(parsePlatform([p.os, p.architecture, p.variant].filter(Boolean).join("/")), p);
    }),
    { numRuns: RUNS, examples: [["linux/amd64"], ["constructor/amd64/v1"]] },
  );
});

// ---------------------------------------------------------------------------------------------------------------
// challenges

function checkChallenges(out: ReturnType<typeof parseChallenges>) {
  assert.ok(Array.isArray(out));
  for (const c of out) {
    assert.equal(typeof c.scheme, "string");
    assert.match(c.scheme, /^[!#$%&'*+.^_`|~0-9a-z-]+$/);
    for (const [k, v] of Object.entries(c.params)) {
      assert.equal(typeof k, "string");
      assert.equal(typeof v, "string");
    }
  }
}

Deno.test("property: parseChallenges never throws on arbitrary strings", () => {
  fc.assert(
    fc.property(anyString, (s) => {
      const r = outcome(() => parseChallenges(s), [], "parseChallenges");
      assert.ok(r.ok);
      checkChallenges(r.value);
    }),
    { numRuns: RUNS },
  );
});

const tchar = fc.constantFrom(
  ..."!#$%&'*+.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-",
);
const token = fc.string({ unit: tchar, minLength: 1, maxLength: 10 });
const quotedValue = fc.string({
  unit: fc.oneof(
    fc.constantFrom('"', "\\", ",", " ", "=", ";", ":"),
    fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 }),
  ),
  maxLength: 20,
});
const ows = fc.constantFrom("", " ", "  ", "\t");

interface GenChallenge {
  scheme: string;
  params: [string, string, boolean][]; // name, value, quoted
  token68?: string;
}

const genChallenge: fc.Arbitrary<GenChallenge> = fc.oneof(
  fc.record({
    scheme: token,
    params: fc.uniqueArray(
      fc.tuple(
        token,
        fc.oneof(quotedValue.map((v) => [v, true] as const), token.map((v) => [v, false] as const)),
      ),
      { maxLength: 4, selector: ([n]) => n.toLowerCase() },
    ).map((ps) => ps.map(([n, [v, q]]) => [n, v, q] as [string, string, boolean])),
  }),
  fc.record({
    scheme: token,
    params: fc.constant([] as [string, string, boolean][]),
    token68: fc.tuple(
      fc.string({ unit: fc.constantFrom(..."abcXYZ019-._~+/"), minLength: 1, maxLength: 12 }),
      fc.constantFrom("", "=="),
    ).map(([a, pad]) => a + pad),
  }),
);

function render(c: GenChallenge, seps: string[]): string {
  if (c.token68 !== undefined) return `${c.scheme} ${c.token68}`;
  const ps = c.params.map(([n, v, q], i) => {
    const s = seps[i % seps.length];
    return `${n}${s}=${s}${q ? `"${v.replace(/["\\]/g, (m) => `\\${m}`)}"` : v}`;
  });
  return ps.length ? `${c.scheme} ${ps.join(`${seps[0]},${seps[1 % seps.length]}`)}` : c.scheme;
}

Deno.test("property: generated WWW-Authenticate headers parse back to what was generated", () => {
  fc.assert(
    fc.property(
      fc.array(genChallenge, { minLength: 1, maxLength: 4 }),
      fc.array(ows, { minLength: 2, maxLength: 4 }),
      (cs, seps) => {
        const header = cs.map((c) => render(c, seps)).join(", ");
        const r = outcome(() => parseChallenges(header), [], "parseChallenges");
        assert.ok(r.ok);
        const expected = cs.map((c) => ({
          scheme: c.scheme.toLowerCase(),
          params: c.token68 !== undefined
            ? { "": c.token68 }
            : Object.fromEntries(c.params.map(([n, v]) => [n.toLowerCase(), v])),
        }));
        assert.deepStrictEqual(
          r.value.map((c) => ({ scheme: c.scheme, params: { ...c.params } })),
          expected,
          header,
        );
      },
    ),
    { numRuns: RUNS },
  );
});

// ---------------------------------------------------------------------------------------------------------------
// digests

Deno.test("property: parseDigest gives a well-formed digest or a ManifestError", () => {
  const nearDigest = fc.tuple(
    fc.constantFrom(
      "sha256",
      "sha384",
      "sha512",
      "SHA256",
      "md5",
      "sha1",
      "constructor",
      "sha256+b64",
      "",
      "blake3",
    ),
    fc.constantFrom(":", "", "::", "="),
    fc.oneof(
      hex(64),
      hex(96),
      hex(128),
      fc.string({ unit: fc.constantFrom(..."0123456789abcdefABCDEFg=_-"), maxLength: 140 }),
    ),
  ).map(([a, s, h]) => a + s + h);
  fc.assert(
    fc.property(fc.oneof(anyString, nearDigest), (s) => {
      const r = outcome(() => parseDigest(s), [ManifestError], `parseDigest(${JSON.stringify(s)})`);
      if (!r.ok) return;
      const { algorithm, hex: h } = r.value;
      assert.ok(["sha256", "sha384", "sha512"].includes(algorithm));
      assert.equal(h.length, { sha256: 64, sha384: 96, sha512: 128 }[algorithm]);
      assert.match(h, /^[0-9a-f]+$/);
      assert.equal(`${algorithm}:${h}`, s);
    }),
    { numRuns: RUNS },
  );
});

// ---------------------------------------------------------------------------------------------------------------
// manifests and configs

const contentType = fc.oneof(
  fc.constantFrom(
    MediaTypes.ociManifest,
    MediaTypes.ociIndex,
    MediaTypes.dockerManifest,
    MediaTypes.dockerManifestList,
    MediaTypes.dockerSchema1,
    MediaTypes.dockerSchema1Signed,
    `${MediaTypes.ociIndex}; charset=utf-8`,
    "application/json",
    "text/plain",
    "",
  ),
  fc.constant(null),
  fc.constant(undefined),
  anyString,
);

/** A value that is either `valid` or something arbitrary (wrong type, missing). */
const maybe = <T>(valid: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) }, {
    weight: 1,
    arbitrary: fc.constant(undefined),
  });

const mediaTypeValue = fc.constantFrom(
  MediaTypes.ociManifest,
  MediaTypes.ociIndex,
  MediaTypes.dockerManifest,
  MediaTypes.dockerManifestList,
  MediaTypes.ociConfig,
  "application/vnd.oci.image.layer.v1.tar+gzip",
  "application/vnd.oci.artifact.manifest.v1+json",
  "",
);

const platformValue = fc.record(
  {
    os: maybe(fc.constantFrom("linux", "windows", "unknown", "constructor", "__proto__")),
    architecture: maybe(fc.constantFrom("amd64", "arm64", "arm", "unknown", "x86_64")),
    variant: maybe(fc.constantFrom("v7", "v8", "")),
    "os.version": maybe(fc.string()),
  },
  { requiredKeys: [] },
);

const descriptorValue = fc.record(
  {
    mediaType: maybe(mediaTypeValue),
    digest: maybe(fc.oneof(digest, fc.constant("sha256:short"), fc.constant(`sha256:${"A".repeat(64)}`))),
    size: maybe(fc.oneof(fc.nat(), fc.integer(), fc.double(), fc.constant(2 ** 53))),
    platform: maybe(platformValue),
    annotations: maybe(
      fc.dictionary(
        fc.string({ maxLength: 8 }),
        fc.oneof(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 })),
        { maxKeys: 3 },
      ),
    ),
    urls: maybe(fc.array(fc.oneof(fc.webUrl(), fc.integer()), { maxLength: 2 })),
    artifactType: maybe(fc.string({ maxLength: 10 })),
  },
  { requiredKeys: [] },
);

const manifestValue = fc.record(
  {
    schemaVersion: maybe(fc.constantFrom(2, 1, 3, "2")),
    mediaType: maybe(mediaTypeValue),
    config: maybe(descriptorValue),
    layers: maybe(fc.array(maybe(descriptorValue), { maxLength: 4 })),
    manifests: maybe(fc.array(maybe(descriptorValue), { maxLength: 4 })),
    subject: maybe(descriptorValue),
    annotations: maybe(
      fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
    ),
    artifactType: maybe(fc.string({ maxLength: 10 })),
  },
  { requiredKeys: [] },
);

const manifestBytes = fc.oneof(
  fc.json({ maxDepth: 4 }).map((s) => enc.encode(s)),
  fc.jsonValue({ maxDepth: 4 }).map((v) => enc.encode(JSON.stringify(v) ?? "")),
  manifestValue.map((v) => enc.encode(JSON.stringify(v))),
  fc.uint8Array({ maxLength: 200 }),
  anyString.map((s) => enc.encode(s)),
);

Deno.test("property: decodeManifest gives a checked manifest/index or a ManifestError/UnsupportedError", () => {
  const linux = parsePlatform("linux/amd64");
  fc.assert(
    fc.property(manifestBytes, contentType, (bytes, ct) => {
      const r = outcome(() => decodeManifest(bytes, ct as string | null | undefined), [
        ManifestError,
        UnsupportedError,
      ], "decodeManifest");
      if (!r.ok) return;
      const d = r.value;
      const descriptors = d.kind === "index" ? d.index.manifests : [d.manifest.config, ...d.manifest.layers];
      for (const x of descriptors) {
        assert.equal(typeof x.mediaType, "string");
        assert.ok(x.mediaType.length > 0);
        parseDigest(x.digest);
        assert.ok(Number.isSafeInteger(x.size) && x.size >= 0);
        if (x.platform) {
          assert.equal(typeof x.platform.os, "string");
          assert.equal(typeof x.platform.architecture, "string");
        }
        if (x.annotations) { for (const v of Object.values(x.annotations)) assert.equal(typeof v, "string"); }
      }
      if (d.kind === "index") {
        // Choosing a platform from any decoded index is a descriptor or a PlatformNotFoundError.
        const c = outcome(() => chooseFromIndex(d.index, linux), [PlatformNotFoundError], "chooseFromIndex");
        if (c.ok) assert.ok(d.index.manifests.includes(c.value));
      }
    }),
    { numRuns: RUNS },
  );
});

const configValue = fc.record(
  {
    architecture: maybe(fc.constantFrom("amd64", "arm64")),
    os: maybe(fc.constant("linux")),
    variant: maybe(fc.constant("v8")),
    created: maybe(fc.constant("2024-01-01T00:00:00Z")),
    author: maybe(fc.string({ maxLength: 10 })),
    config: maybe(
      fc.record(
        {
          Env: maybe(fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 })),
          Labels: maybe(
            fc.dictionary(
              fc.string({ maxLength: 8 }),
              fc.oneof(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 })),
              { maxKeys: 3 },
            ),
          ),
          Cmd: maybe(fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 })),
        },
        { requiredKeys: [] },
      ),
    ),
    rootfs: maybe(
      fc.record({
        type: maybe(fc.constant("layers")),
        diff_ids: maybe(fc.array(maybe(digest), { maxLength: 3 })),
      }, { requiredKeys: [] }),
    ),
    history: maybe(
      fc.array(maybe(fc.record({ created_by: maybe(fc.string({ maxLength: 10 })) }, { requiredKeys: [] })), {
        maxLength: 3,
      }),
    ),
  },
  { requiredKeys: [] },
);

Deno.test("property: decodeConfig gives a checked config or a ManifestError", () => {
  const configBytes = fc.oneof(
    fc.json({ maxDepth: 4 }).map((s) => enc.encode(s)),
    fc.jsonValue({ maxDepth: 4 }).map((v) => enc.encode(JSON.stringify(v) ?? "")),
    configValue.map((v) => enc.encode(JSON.stringify(v))),
    fc.uint8Array({ maxLength: 200 }),
  );
  fc.assert(
    fc.property(configBytes, (bytes) => {
      const r = outcome(() => decodeConfig(bytes), [ManifestError], "decodeConfig");
      if (!r.ok) return;
      const c = r.value;
      for (const k of ["architecture", "os", "variant", "created", "author"] as const) {
        assert.ok(c[k] === undefined || typeof c[k] === "string", k);
      }
      const labels = c.config?.Labels;
      if (labels) { for (const v of Object.values(labels)) assert.equal(typeof v, "string"); }
      const env = c.config?.Env;
      if (env) { for (const e of env) assert.equal(typeof e, "string"); }
      const ids = c.rootfs?.diff_ids;
      if (ids) { for (const id of ids) assert.equal(typeof id, "string"); }
      if (c.history) {
        for (const h of c.history) assert.ok(typeof h === "object" && h !== null && !Array.isArray(h));
      }
    }),
    { numRuns: RUNS },
  );
});
