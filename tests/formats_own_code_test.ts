/**
 * The documents are written by this project's own code: no module under src/ imports the CycloneDX library
 * or packageurl-js (both CommonJS; tests still use them, as references and for schema validation), the SPDX
 * licence list the formatter carries is the library's, and the real CLI writes its SBOM, provenance,
 * attachments listing and capture files for an OCI layout with no npm package but its command-line parser
 * (`@stricli/core`) available at all.
 *
 * That last check cannot use an empty DENO_DIR with `--cached-only`, as one would like: before running
 * anything, Deno makes sure every npm package deno.json's `imports` names is in its cache (those the tests
 * use too), and the parser is an npm package every command loads. So the CLI runs with a DENO_DIR holding
 * only `@stricli/core`, `--cached-only`, and a copy of deno.json whose every other import maps to a module
 * that throws when it is evaluated (a subpath, to a directory with nothing in it): a run that loaded any of
 * them would fail, and could not have fetched one.
 */

import assert from "node:assert/strict";
import { SPDX_LICENSE_IDS, spdxLicenseId } from "../src/formats/spdx_ids.ts";
import { COMPILE_FLAGS, REPO_ROOT } from "./support/cli.ts";

const BANNED = ["@cyclonedx/cyclonedx-library", "packageurl-js"];

/** Import specifiers (static, dynamic, re-exports, side-effect imports, `typeof import()`) in `code`. */
function importedSpecifiers(code: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["'`]([^"'`]+)["'`]/g,
    /\bimport\s+["']([^"']+)["']/g,
  ];
  for (const pattern of patterns) for (const m of code.matchAll(pattern)) found.push(m[1]);
  return found;
}

/** Whether `specifier` names one of the banned packages (bare, with a subpath or a version, or `npm:`). */
function isBanned(specifier: string): boolean {
  const bare = specifier.replace(/^npm:\/?/, "");
  return BANNED.some((p) => bare === p || bare.startsWith(`${p}/`) || bare.startsWith(`${p}@`));
}

async function sourceFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) files.push(...await sourceFiles(path));
    else if (/\.(ts|js|mjs|tsx)$/.test(entry.name)) files.push(path);
  }
  return files;
}

Deno.test("no module under src/ imports the CycloneDX library or packageurl-js", async () => {
  const files = await sourceFiles(`${REPO_ROOT}/src`);
  assert.ok(files.some((f) => f.endsWith("/src/formats/cyclonedx.ts")), "the scan found the formatter");
  const offenders: string[] = [];
  for (const file of [...files, `${REPO_ROOT}/main.ts`, `${REPO_ROOT}/mod.ts`]) {
    for (const specifier of importedSpecifiers(await Deno.readTextFile(file))) {
      if (isBanned(specifier)) offenders.push(`${file.slice(REPO_ROOT.length + 1)}: ${specifier}`);
    }
  }
  assert.deepEqual(offenders, []);
});

Deno.test("the import check can fail: every form of import of the two packages is caught", () => {
  const bad = [
    'import { PackageURL } from "packageurl-js";',
    'const { PackageURL } = await import("packageurl-js");',
    "const m = await import('@cyclonedx/cyclonedx-library/Models');",
    "type L = typeof import(`@cyclonedx/cyclonedx-library/Spec`);",
    'export { Bom } from "npm:@cyclonedx/cyclonedx-library@^10.3.0/Models";',
    'import "npm:packageurl-js@2";',
    'import type { Spec } from "@cyclonedx/cyclonedx-library";',
  ];
  for (const code of bad) assert.ok(importedSpecifiers(code).some(isBanned), code);
  const good = [
    'import { ociPurl } from "./purl.ts";',
    "// packageurl-js wrote the same text; `@cyclonedx/cyclonedx-library` the same documents",
    'import { x } from "packageurl-json";',
    'import { x } from "@cyclonedx/cyclonedx-library-extra";',
  ];
  for (const code of good) assert.ok(!importedSpecifiers(code).some(isBanned), code);
});

Deno.test("the CLI's module graph (static and dynamic imports) holds neither package", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--config", `${REPO_ROOT}/deno.json`, `${REPO_ROOT}/main.ts`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string; kind?: string; dependencies?: { specifier: string }[] }[];
  };
  const specifiers = info.modules.flatMap((
    m,
  ) => [m.specifier, ...(m.dependencies ?? []).map((d) => d.specifier)]);
  assert.ok(specifiers.some((s) => s.endsWith("/src/formats/cyclonedx.ts")), "the graph holds the formatter");
  assert.ok(specifiers.some((s) => s.includes("@stricli/core")), "npm packages show in the graph");
  assert.deepEqual(specifiers.filter(isBanned), []);
  assert.deepEqual(specifiers.filter((s) => BANNED.some((p) => s.includes(`/${p}@`))), []);
});

/** The CycloneDX library's res/schema directory in Deno's npm cache. */
function cyclonedxSchemaDir(): string {
  const path = new URL(import.meta.resolve("@cyclonedx/cyclonedx-library/Spec")).pathname;
  return `${path.slice(0, path.indexOf("/dist."))}/res/schema`;
}

Deno.test("the SPDX licence ids are the library's, looked up as its fixupSpdxId does", async () => {
  const schema = JSON.parse(await Deno.readTextFile(`${cyclonedxSchemaDir()}/spdx.SNAPSHOT.schema.json`));
  assert.deepEqual(SPDX_LICENSE_IDS, schema.enum);
  const { fixupSpdxId } = await import("@cyclonedx/cyclonedx-library/SPDX");
  const library = (id: string) => {
    const fixed: unknown = fixupSpdxId(id);
    return typeof fixed === "string" ? fixed : undefined;
  };
  const probes = [
    ...SPDX_LICENSE_IDS.flatMap((id) => [id, id.toLowerCase(), id.toUpperCase(), ` ${id}`]),
    "",
    "LicenseRef-Proprietary",
    "constructor",
    "__proto__",
    "toString",
    "hasOwnProperty",
    "MIT OR Apache-2.0",
  ];
  for (const id of probes) assert.equal(spdxLicenseId(id), library(id), JSON.stringify(id));
});

// ---------------------------------------------------------------------------------------------------------------
// The real CLI with no npm package but its parser

interface Sandbox {
  denoDir: string;
  config: string;
  dir: string;
}

/** A DENO_DIR with `@stricli/core` only, and deno.json with every other import throwing when loaded. */
async function sandbox(): Promise<Sandbox> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "own-code-" }));
  const info = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "null",
  }).output();
  const cache = `${JSON.parse(new TextDecoder().decode(info.stdout)).denoDir}/npm/registry.npmjs.org`;
  const denoDir = `${dir}/deno_dir`;
  await Deno.mkdir(`${denoDir}/npm/registry.npmjs.org/@stricli`, { recursive: true });
  await copyDir(`${cache}/@stricli/core`, `${denoDir}/npm/registry.npmjs.org/@stricli/core`);
  await Deno.writeTextFile(
    `${dir}/loaded.ts`,
    "throw new Error(`an npm package was loaded (${new URL(import.meta.url).search.slice(1)})`);\n",
  );
  await Deno.mkdir(`${dir}/absent`);
  const project = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}/deno.json`));
  const imports: Record<string, string> = {};
  for (const [name, target] of Object.entries(project.imports as Record<string, string>)) {
    if (name === "@stricli/core") {
      imports[name] = target;
      continue;
    }
    imports[name] = `file://${dir}/loaded.ts?${encodeURIComponent(name)}`;
    // Subpaths (`@cyclonedx/cyclonedx-library/Models`): a directory with nothing in it.
    imports[`${name}/`] = `file://${dir}/absent/${encodeURIComponent(name)}/`;
  }
  const config = `${dir}/deno.json`;
  await Deno.writeTextFile(config, JSON.stringify({ imports, unstable: project.unstable }, null, 2));
  return { denoDir, config, dir };
}

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isDirectory) await copyDir(`${from}/${entry.name}`, `${to}/${entry.name}`);
    else await Deno.copyFile(`${from}/${entry.name}`, `${to}/${entry.name}`);
  }
}

/** Run `args` (a script and its arguments) with the project's config or the sandbox's. */
async function deno(
  args: string[],
  box?: Sandbox,
): Promise<{ code: number; stdout: Uint8Array; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      "--cached-only",
      ...(box ? ["--no-lock", "--config", box.config] : ["--config", `${REPO_ROOT}/deno.json`]),
      ...COMPILE_FLAGS,
      ...args,
    ],
    cwd: REPO_ROOT,
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: box?.dir ?? Deno.env.get("HOME") ?? "/tmp",
      NO_COLOR: "1",
      SOURCE_DATE_EPOCH: "1700000000",
      ...(box ? { DENO_DIR: box.denoDir } : {}),
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: out.stdout, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("the CLI writes SBOMs, provenance, the attachments listing and capture's files with no npm package but its parser", async () => {
  const box = await sandbox();
  try {
    // The set-up catches a load: a script importing either package fails in it.
    for (const name of BANNED) {
      const script = `${box.dir}/probe-${name.replace(/\W/g, "_")}.ts`;
      await Deno.writeTextFile(script, `await import(${JSON.stringify(name)});\n`);
      const r = await deno([script], box);
      assert.notEqual(r.code, 0, `${name} was loadable in the sandbox`);
      assert.match(r.stderr, /an npm package was loaded/);
    }
    const image = ["-u", "oci:fixtures/oci-layout:demo"];
    const subject = ["--subject", "fixtures/oci-layout/index.json"];
    const builder = ["--builder-id", "https://ci.example/builders/1"];
    const runs: string[][] = [
      ["sbom", ...image],
      ["sbom", ...image, "--format", "cyclonedx-xml", "--spec-version", "1.5"],
      ["sbom", ...image, "--format", "cyclonedx-component"],
      ["sbom", ...image, ...subject, "--format", "cyclonedx-xml"],
      ["sbom", ...image, "--include-attached"],
      ["provenance", ...image, ...subject, ...builder],
      ["provenance", ...image, ...subject, ...builder, "--format", "slsa-v0.2"],
      ["attachments", ...image],
    ];
    for (const args of runs) {
      const alone = await deno([`${REPO_ROOT}/main.ts`, ...args], box);
      assert.equal(alone.code, 0, `${args.join(" ")}: ${alone.stderr}`);
      assert.equal(alone.stderr, "", args.join(" "));
      const usual = await deno([`${REPO_ROOT}/main.ts`, ...args]);
      assert.equal(usual.code, 0, usual.stderr);
      assert.deepEqual(alone.stdout, usual.stdout, `${args.join(" ")}: the same bytes as with every package`);
    }
    const out = `${box.dir}/capture`;
    await Deno.mkdir(out);
    const capture = await deno([
      `${REPO_ROOT}/main.ts`,
      "capture",
      ...image,
      ...subject,
      ...builder,
      "--output-dir",
      out,
    ], box);
    assert.equal(capture.code, 0, capture.stderr);
    const written = [];
    for await (const entry of Deno.readDir(out)) written.push(entry.name);
    assert.ok(written.some((n) => n.endsWith(".cdx.json")), written.join(" "));
    assert.ok(written.some((n) => n.includes("intoto") || n.includes("slsa")), written.join(" "));
  } finally {
    await Deno.remove(box.dir, { recursive: true });
  }
});
