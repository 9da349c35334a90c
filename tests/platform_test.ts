/**
 * Platforms: parsing, normalisation (aliases of architectures), best-match selection in an index, and the
 * PlatformNotFoundError of chooseFromIndex that lists what the index has.
 */

import assert from "node:assert/strict";
import { PlatformError, PlatformNotFoundError, ToolError } from "../src/errors.ts";
import type { Descriptor, ImageIndex } from "../src/image.ts";
import { MediaTypes } from "../src/image.ts";
import { chooseFromIndex } from "../src/manifest.ts";
import { configPlatform, isAskedPlatform, samePlatform } from "../src/source.ts";
import {
  formatPlatform,
  hostPlatform,
  isUnknownPlatform,
  normalizePlatform,
  parsePlatform,
  type Platform,
  platformMatches,
  selectPlatform,
} from "../src/platform.ts";

Deno.test("parsePlatform: os/arch[/variant] and aliases", () => {
  const cases: [string, Platform][] = [
    ["linux/amd64", { os: "linux", architecture: "amd64" }],
    ["linux/x86_64", { os: "linux", architecture: "amd64" }],
    ["linux/x86-64", { os: "linux", architecture: "amd64" }],
    ["linux/amd64/v1", { os: "linux", architecture: "amd64" }],
    ["linux/amd64/v3", { os: "linux", architecture: "amd64", variant: "v3" }],
    ["linux/aarch64", { os: "linux", architecture: "arm64" }],
    ["linux/arm64", { os: "linux", architecture: "arm64" }],
    ["linux/arm64/v8", { os: "linux", architecture: "arm64" }],
    ["linux/arm64/8", { os: "linux", architecture: "arm64" }],
    ["linux/arm64/v9", { os: "linux", architecture: "arm64", variant: "v9" }],
    ["linux/armhf", { os: "linux", architecture: "arm", variant: "v7" }],
    ["linux/armel", { os: "linux", architecture: "arm", variant: "v6" }],
    ["linux/arm", { os: "linux", architecture: "arm", variant: "v7" }],
    ["linux/arm/v6", { os: "linux", architecture: "arm", variant: "v6" }],
    ["linux/arm/7", { os: "linux", architecture: "arm", variant: "v7" }],
    ["linux/i386", { os: "linux", architecture: "386" }],
    ["linux/i686", { os: "linux", architecture: "386" }],
    ["linux/ppc64le", { os: "linux", architecture: "ppc64le" }],
    ["linux/s390x", { os: "linux", architecture: "s390x" }],
    ["linux/riscv64", { os: "linux", architecture: "riscv64" }],
    ["windows/amd64", { os: "windows", architecture: "amd64" }],
    ["macos/arm64", { os: "darwin", architecture: "arm64" }],
    ["osx/x86_64", { os: "darwin", architecture: "amd64" }],
    ["Linux/AARCH64", { os: "linux", architecture: "arm64" }],
    ["  linux/amd64  ", { os: "linux", architecture: "amd64" }],
    ["arm64", { os: "linux", architecture: "arm64" }],
    ["x86_64", { os: "linux", architecture: "amd64" }],
    ["freebsd/mips64le", { os: "freebsd", architecture: "mips64le" }],
  ];
  for (const [text, expected] of cases) {
    assert.deepStrictEqual(parsePlatform(text), expected, text);
  }
});

Deno.test("parsePlatform rejects malformed text with a PlatformError (exit 2)", () => {
  for (
    const text of [
      "",
      "  ",
      "linux/",
      "/amd64",
      "linux//amd64",
      "linux/amd64/v8/extra",
      "linux/amd 64",
      "linux/amd64!",
      "-linux/amd64",
      "linux/ämd64",
    ]
  ) {
    assert.throws(() => parsePlatform(text), (err: unknown) => {
      assert.ok(err instanceof PlatformError, `${JSON.stringify(text)}: ${err}`);
      assert.ok(err instanceof ToolError);
      assert.equal(err.exitCode, 2);
      assert.match(err.message, /invalid platform/);
      assert.match(err.hint ?? "", /OS\/ARCH/);
      return true;
    }, text);
  }
});

Deno.test("parsePlatform: ARCH/VARIANT alone means linux", () => {
  assert.deepStrictEqual(parsePlatform("arm64/v8"), { os: "linux", architecture: "arm64" });
  assert.deepStrictEqual(parsePlatform("arm/v6"), { os: "linux", architecture: "arm", variant: "v6" });
  assert.deepStrictEqual(parsePlatform("amd64/v3"), { os: "linux", architecture: "amd64", variant: "v3" });
  // A known OS first is still os/arch.
  assert.deepStrictEqual(parsePlatform("linux/arm64"), { os: "linux", architecture: "arm64" });
  assert.deepStrictEqual(parsePlatform("windows/amd64"), { os: "windows", architecture: "amd64" });
});

Deno.test("platform names that are Object.prototype keys are plain names, not prototype members", () => {
  // The alias tables are plain objects: "constructor" must not be found in them.
  const p = parsePlatform("constructor/amd64");
  assert.deepStrictEqual({ ...p }, { os: "constructor", architecture: "amd64" });
  const n = normalizePlatform({ os: "constructor", architecture: "amd64" });
  assert.equal(typeof n.os, "string", `normalizePlatform os is a ${typeof n.os}`);
  assert.deepStrictEqual({ ...n }, { os: "constructor", architecture: "amd64" });
  const proto = normalizePlatform({ os: "__proto__", architecture: "amd64" });
  assert.equal(typeof proto.os, "string", `normalizePlatform os is a ${typeof proto.os}`);
  assert.deepStrictEqual(parsePlatform("linux/constructor"), { os: "linux", architecture: "constructor" });
});

Deno.test("normalizePlatform lower-cases, keeps os.version and drops os.features", () => {
  assert.deepStrictEqual(
    normalizePlatform({
      os: "Windows",
      architecture: "AMD64",
      "os.version": "10.0.17763.1",
      "os.features": ["win32k"],
    }),
    { os: "windows", architecture: "amd64", "os.version": "10.0.17763.1" },
  );
  assert.deepStrictEqual(normalizePlatform({ os: "linux", architecture: "arm", variant: "V8" }), {
    os: "linux",
    architecture: "arm",
    variant: "v8",
  });
  assert.deepStrictEqual(normalizePlatform({ os: "linux", architecture: "arm64", variant: "" }), {
    os: "linux",
    architecture: "arm64",
  });
});

Deno.test("formatPlatform and isUnknownPlatform", () => {
  assert.equal(formatPlatform({ os: "linux", architecture: "arm", variant: "v7" }), "linux/arm/v7");
  assert.equal(formatPlatform({ os: "linux", architecture: "amd64" }), "linux/amd64");
  assert.equal(isUnknownPlatform(undefined), true);
  assert.equal(isUnknownPlatform({ os: "unknown", architecture: "unknown" }), true);
  assert.equal(isUnknownPlatform({ os: "linux", architecture: "unknown" }), true);
  assert.equal(isUnknownPlatform({ os: "linux", architecture: "amd64" }), false);
});

Deno.test("platformMatches: arm64 matches arm64/v8, a wanted variant must match", () => {
  const arm64 = { os: "linux", architecture: "arm64" };
  assert.ok(platformMatches(arm64, { os: "linux", architecture: "arm64", variant: "v8" }));
  assert.ok(platformMatches({ os: "linux", architecture: "aarch64" }, arm64));
  assert.ok(platformMatches({ os: "linux", architecture: "arm64", variant: "v8" }, arm64));
  assert.ok(
    !platformMatches({ os: "linux", architecture: "arm", variant: "v6" }, {
      os: "linux",
      architecture: "arm",
      variant: "v7",
    }),
  );
  assert.ok(
    platformMatches({ os: "linux", architecture: "armhf" }, {
      os: "linux",
      architecture: "arm",
      variant: "v7",
    }),
  );
  assert.ok(
    !platformMatches({ os: "linux", architecture: "amd64" }, { os: "windows", architecture: "amd64" }),
  );
  assert.ok(
    platformMatches({ os: "linux", architecture: "amd64" }, {
      os: "linux",
      architecture: "amd64",
      variant: "v2",
    }),
  );
  assert.ok(
    !platformMatches({ os: "linux", architecture: "amd64", variant: "v3" }, {
      os: "linux",
      architecture: "amd64",
      variant: "v2",
    }),
  );
});

const entries = (...ps: (Platform | undefined)[]) => ps.map((platform) => (platform ? { platform } : {}));

Deno.test("selectPlatform: aliases, attestation entries skipped, exact variant preferred, no match -1", () => {
  const index = entries(
    { os: "unknown", architecture: "unknown" },
    undefined,
    { os: "linux", architecture: "amd64" },
    { os: "linux", architecture: "arm", variant: "v6" },
    { os: "linux", architecture: "arm", variant: "v7" },
    { os: "linux", architecture: "arm64", variant: "v8" },
    { os: "windows", architecture: "amd64", "os.version": "10.0.20348.1" },
  );
  assert.equal(selectPlatform({ os: "linux", architecture: "x86_64" }, index), 2);
  assert.equal(selectPlatform({ os: "linux", architecture: "aarch64" }, index), 5);
  assert.equal(selectPlatform({ os: "linux", architecture: "arm64" }, index), 5);
  assert.equal(selectPlatform(parsePlatform("linux/armhf"), index), 4);
  assert.equal(selectPlatform(parsePlatform("linux/arm/v6"), index), 3);
  assert.equal(selectPlatform(parsePlatform("linux/arm"), index), 4, "arm without variant means arm/v7");
  assert.equal(selectPlatform(parsePlatform("windows/amd64"), index), 6);
  assert.equal(selectPlatform(parsePlatform("linux/s390x"), index), -1);
  assert.equal(selectPlatform(parsePlatform("linux/arm/v5"), index), -1);
  assert.equal(
    selectPlatform({ os: "unknown", architecture: "unknown" }, index),
    -1,
    "unknown never matches",
  );
  assert.equal(selectPlatform(parsePlatform("linux/amd64"), []), -1);
});

Deno.test("selectPlatform prefers the exact variant over an earlier variant entry", () => {
  const index = entries(
    { os: "linux", architecture: "amd64", variant: "v3" },
    { os: "linux", architecture: "amd64", variant: "v2" },
    { os: "linux", architecture: "amd64" },
  );
  assert.equal(
    selectPlatform(parsePlatform("linux/amd64"), index),
    2,
    "no variant wanted: the entry without one",
  );
  assert.equal(selectPlatform(parsePlatform("linux/amd64/v2"), index), 1);
  assert.equal(selectPlatform(parsePlatform("linux/amd64/v3"), index), 0);
  // Only variant entries: the first one is the fallback.
  const onlyVariants = entries(
    { os: "linux", architecture: "amd64", variant: "v3" },
    { os: "linux", architecture: "amd64", variant: "v2" },
  );
  assert.equal(selectPlatform(parsePlatform("linux/amd64"), onlyVariants), 0);
});

Deno.test("selectPlatform skips entries whose platform fields are not strings", () => {
  const index = [
    { platform: { os: 1, architecture: "amd64" } as unknown as Platform },
    { platform: { os: "linux", architecture: null } as unknown as Platform },
    { platform: { os: "linux", architecture: "amd64" } },
  ];
  assert.equal(selectPlatform(parsePlatform("linux/amd64"), index), 2);
});

function desc(platform?: Platform, n = 1): Descriptor {
  const d: Descriptor = {
    mediaType: MediaTypes.ociManifest,
    digest: `sha256:${String(n).repeat(64).slice(0, 64)}`,
    size: 100,
  };
  if (platform) d.platform = platform;
  return d;
}

function index(...ds: Descriptor[]): ImageIndex {
  return { schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: ds };
}

Deno.test("chooseFromIndex returns the matching descriptor", () => {
  const idx = index(
    desc({ os: "linux", architecture: "amd64" }, 1),
    desc({ os: "linux", architecture: "arm64", variant: "v8" }, 2),
    desc({ os: "unknown", architecture: "unknown" }, 3),
  );
  assert.equal(chooseFromIndex(idx, parsePlatform("linux/arm64")), idx.manifests[1]);
  assert.equal(chooseFromIndex(idx, parsePlatform("linux/x86_64")), idx.manifests[0]);
});

Deno.test("chooseFromIndex: PlatformNotFoundError lists the index's platforms without attestations", () => {
  const idx = index(
    desc({ os: "linux", architecture: "amd64" }, 1),
    desc({ os: "linux", architecture: "arm", variant: "v7" }, 2),
    desc({ os: "linux", architecture: "amd64" }, 4),
    desc({ os: "unknown", architecture: "unknown" }, 3),
  );
  assert.throws(() => chooseFromIndex(idx, parsePlatform("linux/s390x")), (err: unknown) => {
    assert.ok(err instanceof PlatformNotFoundError);
    assert.equal(err.exitCode, 1);
    assert.match(err.message, /no image for platform linux\/s390x/);
    assert.match(err.message, /it has: linux\/amd64, linux\/arm\/v7$/);
    assert.doesNotMatch(err.message, /unknown/);
    assert.equal(err.advice, "platform");
    return true;
  });
});

Deno.test("chooseFromIndex on an index without platform entries says so", () => {
  const idx = index(desc(undefined, 1), desc({ os: "unknown", architecture: "unknown" }, 2));
  assert.throws(() => chooseFromIndex(idx, parsePlatform("linux/amd64")), (err: unknown) => {
    assert.ok(err instanceof PlatformNotFoundError);
    assert.match(err.message, /no platform entries/);
    return true;
  });
  assert.throws(() => chooseFromIndex(index(), parsePlatform("linux/amd64")), PlatformNotFoundError);
});

Deno.test("configPlatform: what the config declares, or nothing", () => {
  assert.deepStrictEqual(configPlatform({ os: "linux", architecture: "arm", variant: "v7" }), {
    os: "linux",
    architecture: "arm",
    variant: "v7",
  });
  assert.deepStrictEqual(
    configPlatform({ os: "windows", architecture: "amd64", "os.version": "10.0.20348" }),
    {
      os: "windows",
      architecture: "amd64",
      "os.version": "10.0.20348",
    },
  );
  assert.equal(configPlatform({}), undefined);
  assert.equal(configPlatform({ os: "linux" }), undefined);
});

Deno.test("samePlatform: an index entry's claim against the config's declaration", () => {
  const yes: [Platform, Platform][] = [
    [{ os: "linux", architecture: "amd64" }, { os: "linux", architecture: "amd64" }],
    [{ os: "linux", architecture: "arm64", variant: "v8" }, { os: "linux", architecture: "arm64" }],
    [{ os: "linux", architecture: "arm64" }, { os: "linux", architecture: "aarch64", variant: "8" }],
    [{ os: "linux", architecture: "arm", variant: "v6" }, { os: "linux", architecture: "arm" }], // config silent
    [{ os: "linux", architecture: "arm64", variant: "v9" }, {
      os: "linux",
      architecture: "arm64",
      variant: "9.0",
    }],
  ];
  for (const [claimed, actual] of yes) {
    assert.ok(samePlatform(claimed, actual), JSON.stringify([claimed, actual]));
  }
  const no: [Platform, Platform][] = [
    [{ os: "linux", architecture: "amd64" }, { os: "windows", architecture: "arm64" }],
    [{ os: "linux", architecture: "amd64" }, { os: "linux", architecture: "arm64" }],
    [{ os: "linux", architecture: "arm", variant: "v6" }, {
      os: "linux",
      architecture: "arm",
      variant: "v7",
    }],
    [{ os: "linux", architecture: "arm64" }, { os: "linux", architecture: "arm64", variant: "v9" }],
    [WIN_2019, WIN_2022],
  ];
  for (const [claimed, actual] of no) {
    assert.ok(!samePlatform(claimed, actual), JSON.stringify([claimed, actual]));
  }
  // An os.version on one side only is no disagreement.
  assert.ok(samePlatform({ os: "windows", architecture: "amd64" }, WIN_2022));
  assert.ok(samePlatform(WIN_2022, { os: "windows", architecture: "amd64" }));
});

const WIN_2019: Platform = { os: "windows", architecture: "amd64", "os.version": "10.0.17763.5458" };
const WIN_2022: Platform = { os: "windows", architecture: "amd64", "os.version": "10.0.20348.2322" };

Deno.test("isAskedPlatform: a single-platform image against --platform, by what its config says", () => {
  const arm = (variant?: string): Platform => ({
    os: "linux",
    architecture: "arm",
    ...(variant ? { variant } : {}),
  });
  const yes: [Platform, Platform][] = [
    [arm("v6"), arm()], // the config does not name its variant: nothing refutes v6
    [arm(), arm()],
    [arm("v7"), arm("7")],
    [{ os: "linux", architecture: "arm64" }, { os: "linux", architecture: "arm64", variant: "v9" }],
    [{ os: "windows", architecture: "amd64" }, WIN_2022],
    [WIN_2022, WIN_2022],
  ];
  for (const [wanted, declared] of yes) {
    assert.ok(isAskedPlatform(wanted, declared), JSON.stringify([wanted, declared]));
  }
  const no: [Platform, Platform][] = [
    [arm("v6"), arm("v7")],
    [arm(), arm("v6")], // linux/arm is arm/v7, as containerd reads it
    [{ os: "linux", architecture: "amd64" }, { os: "linux", architecture: "arm64" }],
    [WIN_2019, WIN_2022],
  ];
  for (const [wanted, declared] of no) {
    assert.ok(!isAskedPlatform(wanted, declared), JSON.stringify([wanted, declared]));
  }
});

Deno.test("parsePlatform: an OS alone is that OS on the host's architecture; containerd's variant aliases", () => {
  const host = { os: "linux", architecture: "arm64" };
  assert.deepStrictEqual(parsePlatform("linux", host), { os: "linux", architecture: "arm64" });
  assert.deepStrictEqual(parsePlatform("windows", host), { os: "windows", architecture: "arm64" });
  assert.deepStrictEqual(parsePlatform("macos", { os: "linux", architecture: "amd64" }), {
    os: "darwin",
    architecture: "amd64",
  });
  assert.deepStrictEqual(parsePlatform("amd64", host), { os: "linux", architecture: "amd64" });
  assert.deepStrictEqual(parsePlatform("arm64/v8.0"), { os: "linux", architecture: "arm64" });
  for (const v of ["9", "9.0", "v9.0", "v9"]) {
    assert.deepStrictEqual(parsePlatform(`linux/arm64/${v}`), {
      os: "linux",
      architecture: "arm64",
      variant: "v9",
    });
  }
  assert.deepStrictEqual(parsePlatform("linux/arm/5"), { os: "linux", architecture: "arm", variant: "v5" });
  assert.deepStrictEqual(parsePlatform("linux/amd64/v1"), { os: "linux", architecture: "amd64" });
  assert.deepStrictEqual(parsePlatform("linux/armel"), { os: "linux", architecture: "arm", variant: "v6" });
});

Deno.test("hostPlatform is a normalised linux or windows platform", () => {
  const p = hostPlatform();
  assert.ok(p.os === "linux" || p.os === "windows");
  assert.deepStrictEqual(normalizePlatform(p), p);
  assert.ok(!["x86_64", "aarch64"].includes(p.architecture));
});
