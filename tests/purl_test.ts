/**
 * The project's own package URLs (src/formats/purl.ts) against packageurl-js 2.0.1, which wrote them before:
 * the same text for every input, or an error from both. Property tests (fast-check) over random names,
 * digests, registries with ports, nested repositories, OCI layout paths and tags, with characters that need
 * escaping (and some that cannot be encoded at all); examples for the cases the documents show.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { PackageURL } from "packageurl-js";
import type { ImageOrigin, ResolvedImage } from "../src/image.ts";
import { imagePurl } from "../src/formats/image_ids.ts";
import { ociPurl } from "../src/formats/purl.ts";
import { originalImage } from "./support/resolved_fixture.ts";

const RUNS = 3000;

type Result = { ok: string } | { error: true };

function attempt(fn: () => string): Result {
  try {
    return { ok: fn() };
  } catch {
    return { error: true };
  }
}

async function attemptAsync(fn: () => Promise<string>): Promise<Result> {
  try {
    return { ok: await fn() };
  } catch {
    return { error: true };
  }
}

/** What packageurl-js writes for an `oci` purl. */
function reference(name: string, version: string | undefined, qualifiers: Record<string, string>): string {
  return new PackageURL("oci", undefined, name, version, qualifiers, undefined).toString();
}

/** The image's purl as src/formats/image_ids.ts wrote it with packageurl-js. */
function referenceImagePurl(image: ResolvedImage): string {
  const { origin } = image;
  const name = origin.repository.split("/").filter((s) => s !== "").at(-1) ?? "image";
  const qualifiers: Record<string, string> = { arch: image.platform.architecture };
  if (origin.kind === "registry") qualifiers.repository_url = `${origin.registry}/${origin.repository}`;
  if (origin.tag) qualifiers.tag = origin.tag;
  return reference(name, image.manifest.digest, qualifiers);
}

// ---------------------------------------------------------------------------------------------------------------
// Generators

/** Characters that need escaping somewhere, white space `trim` removes, and some that cannot be encoded. */
// deno-fmt-ignore
const HOSTILE = [
  " ", "%", "/", "?", "#", "@", ":", "+", "&", "=", ";", ",", "~", "!", "*", "'", "(", ")", "[", "]", "$", '"',
  "<", ">", "\\", "^", "`", "{", "|", "}", "\t", "\n", "\r", "\u000b", "\u00a0", "\u2028", "\ufeff", "\u3000",
  "é", "É", "İ", "ß", "Ω", "€", "😀", "\u0000", "\u007f", "\ud800", "\udfff",
];
const SAFE = ["a", "b", "z", "A", "Z", "0", "7", "9", ".", "-", "_"];

const chars = (extra: string[] = HOSTILE) =>
  fc.string({
    unit: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...SAFE) }, fc.constantFrom(...extra)),
  });
const segment = fc.oneof(
  { weight: 3, arbitrary: fc.stringMatching(/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/) },
  chars(),
  fc.string({ unit: "binary", maxLength: 12 }),
);
const repository = fc.array(segment, { minLength: 0, maxLength: 4 }).map((s) => s.join("/"));
const host = fc.oneof(
  fc.constantFrom(
    "localhost",
    "127.0.0.1",
    "[::1]",
    "docker.io",
    "772738948692.dkr.ecr.us-east-1.amazonaws.com",
  ),
  fc.domain(),
  fc.ipV4(),
);
const registry = fc.tuple(host, fc.option(fc.integer({ min: 1, max: 65535 }))).map(([h, port]) =>
  port === null ? h : `${h}:${port}`
);
const digest = fc.oneof(
  { weight: 3, arbitrary: fc.stringMatching(/^[0-9a-f]{64}$/).map((h) => `sha256:${h}`) },
  fc.stringMatching(/^[0-9a-f]{128}$/).map((h) => `sha512:${h}`),
  fc.tuple(chars(), chars()).map(([a, b]) => `${a}:${b}`),
  fc.constantFrom("", " ", "sha256:", ":"),
);
const tag = fc.oneof(
  { weight: 3, arbitrary: fc.stringMatching(/^[\w][\w.+@-]{0,40}$/) },
  chars(),
  fc.constant(undefined),
  fc.constant(""),
);
const arch = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom("amd64", "arm64", "arm", "386", "ppc64le", "s390x", "riscv64") },
  chars(),
);

const origin: fc.Arbitrary<ImageOrigin> = fc.oneof(
  fc.record({ registry, repository, tag }).map(({ registry, repository, tag }) => ({
    kind: "registry" as const,
    input: `${registry}/${repository}${tag ? `:${tag}` : ""}`,
    registry,
    repository,
    ...(tag === undefined ? {} : { tag }),
  })),
  // An OCI layout: the path as the registry, the ref name (or the directory's name) as the repository.
  fc.record({ path: chars(), repository: chars(), tag }).map(({ path, repository, tag }) => ({
    kind: "oci-layout" as const,
    input: `oci:${path}${tag ? `:${tag}` : ""}`,
    registry: path,
    repository,
    ...(tag === undefined ? {} : { tag }),
  })),
);

// ---------------------------------------------------------------------------------------------------------------

Deno.test("purl: the image purls the documents show", async () => {
  const image = originalImage();
  const hex = image.manifest.digest;
  const cases: [ImageOrigin, string][] = [
    [
      image.origin,
      `pkg:oci/os_build_env@${hex}?arch=amd64&repository_url=772738948692.dkr.ecr.us-east-1.amazonaws.com` +
      `%2Fos_build_env&tag=latest`,
    ],
    [
      { kind: "registry", input: "", registry: "localhost:5000", repository: "team/sub/App", tag: "1.0+b" },
      `pkg:oci/app@${hex}?arch=amd64&repository_url=localhost%3A5000%2Fteam%2Fsub%2FApp&tag=1.0%2Bb`,
    ],
    [
      { kind: "oci-layout", input: "", registry: "fixtures/oci-layout", repository: "demo", tag: "demo" },
      `pkg:oci/demo@${hex}?arch=amd64&tag=demo`,
    ],
    [
      { kind: "oci-layout", input: "", registry: "/x", repository: " My Dir (1) ", digest: hex },
      `pkg:oci/my%20dir%20(1)@${hex}?arch=amd64`,
    ],
  ];
  for (const [o, want] of cases) {
    const img = { ...image, origin: o };
    assert.equal(await imagePurl(img), want);
    assert.equal(referenceImagePurl(img), want, "packageurl-js agrees");
  }
  assert.throws(() => ociPurl({ name: " \t" }), /"name" is a required component/);
  assert.throws(() => ociPurl({ name: "a\ud800" }), URIError);
  assert.equal(
    ociPurl({ name: "a", version: " ", qualifiers: { tag: " ", Arch: "x y~*:" } }),
    "pkg:oci/a?arch=x%20y%7E*%3A",
  );
});

Deno.test("purl: imagePurl writes what packageurl-js wrote, for random images", async () => {
  const base = originalImage();
  await fc.assert(
    fc.asyncProperty(origin, digest, arch, async (o, d, a) => {
      const image: ResolvedImage = {
        ...base,
        origin: o,
        manifest: { ...base.manifest, digest: d },
        platform: { os: "linux", architecture: a },
      };
      const ours = await attemptAsync(() => imagePurl(image));
      const theirs = attempt(() => referenceImagePurl(image));
      assert.deepEqual(ours, theirs, JSON.stringify({ o, d, a }));
    }),
    { numRuns: RUNS },
  );
});

Deno.test("purl: ociPurl writes what packageurl-js writes, for random names, versions and qualifiers", () => {
  const key = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.constantFrom("arch", "repository_url", "tag", "os", "Tag", "ARCH", "vcs_url"),
    },
    fc.stringMatching(/^[A-Za-z0-9._-]{0,8}$/),
    chars([..."%/: 1é"]),
  );
  const value = fc.oneof({ weight: 3, arbitrary: chars() }, fc.string({ unit: "binary", maxLength: 16 }));
  fc.assert(
    fc.property(
      fc.oneof(segment, chars()),
      fc.option(fc.oneof(digest, chars()), { nil: undefined }),
      fc.dictionary(key, value, { maxKeys: 5 }),
      (name, version, qualifiers) => {
        const ours = attempt(() => ociPurl({ name, version, qualifiers }));
        const theirs = attempt(() => reference(name, version, qualifiers));
        assert.deepEqual(ours, theirs, JSON.stringify({ name, version, qualifiers }));
      },
    ),
    { numRuns: RUNS },
  );
});

Deno.test("purl: the generators reach the interesting cases", () => {
  // Errors on both sides, escaping, dropped and merged qualifiers: each is produced by the generators above.
  const samples = fc.sample(fc.tuple(fc.oneof(segment, chars()), digest), 2000);
  const results = samples.map(([n, d]) => attempt(() => reference(n, d, {})));
  assert.ok(results.some((r) => "error" in r), "some inputs are refused");
  assert.ok(results.some((r) => "ok" in r && r.ok.includes("%")), "some are escaped");
  assert.ok(samples.some(([n]) => n !== n.trim()), "some names have white space around them");
  assert.ok(samples.some(([n]) => n !== n.toLowerCase()), "some names have capitals");
});
