/**
 * The early start (src/cli/early.ts): the command-line scan agrees with commander on everything it accepts
 * (property test against the real commander program), gives up on everything unusual, never sends a request
 * for a command line that commander or the command rejects (the real registry's access log), and hands the
 * request in flight to the command when adopted, or aborts it when not.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { type EarlyStart, prescan, sharedOptionsKey, startEarly } from "../src/cli/early.ts";
import { COMMANDS, COMMON_OPTIONS, parseFlags } from "../src/cli/options.ts";
import { buildProgram } from "../src/cli/run.ts";
import type { CommonOptions, RunContext } from "../src/cli/context.ts";
import { CommanderError } from "commander";
import { ReferenceError } from "../src/errors.ts";
import { runCli } from "./support/cli.ts";
import { seedImages } from "./support/images.ts";
import { startRegistry } from "./support/registry.ts";

Deno.test("prescan reads the forms commander reads, wherever the shared options stand", () => {
  assert.deepEqual(prescan(["get_manifest", "-u", "alpine"]), {
    command: "get_manifest",
    options: { imageUri: "alpine" },
  });
  // The original tool's order: options before the command.
  assert.deepEqual(prescan(["-u", "alpine", "-r", "us-east-1", "get_digest_metadata"]), {
    command: "get_digest_metadata",
    options: { imageUri: "alpine", region: "us-east-1" },
  });
  assert.deepEqual(
    prescan([
      "--ca-file",
      "a.pem",
      "config",
      "--image-uri=x/y:1",
      "--plain-http",
      "--no-ecr-cache",
      "--ca-file=b.pem",
      "-v",
      "--timeout",
      "30",
    ]),
    {
      command: "get_digest_metadata",
      options: {
        caFile: ["a.pem", "b.pem"],
        imageUri: "x/y:1",
        plainHttp: true,
        ecrCache: false,
        verbose: true,
        timeout: "30",
      },
    },
  );
  // A command's own options are read (and skipped with their values), but are not shared options.
  assert.deepEqual(prescan(["sbom", "--format", "cyclonedx-xml", "-u", "a", "--spec-version=1.5"]), {
    command: "sbom",
    options: { imageUri: "a" },
  });
  assert.deepEqual(prescan(["provenance", "--subject", "a.img", "--subject", "b.img", "-u", "a"]), {
    command: "provenance",
    options: { imageUri: "a" },
  });
});

Deno.test("prescan gives up on anything it does not read exactly", () => {
  const cases: string[][] = [
    [],
    ["-u", "alpine"], // no command: commander prints the help
    ["--help"],
    ["get_manifest", "-h"],
    ["--version"],
    ["get_manifest", "-u", "a", "--bogus"],
    ["get_manifest", "-vu", "a"], // bundled short flags
    ["get_manifest", "--", "-u", "a"],
    ["get_manifest", "-u"], // missing value
    ["get_manifest", "-u", "-v"], // a value that looks like an option
    ["get_manifest", "-u", "a", "extra"],
    ["get_manifest", "sbom", "-u", "a"],
    ["unknown", "-u", "a"],
    ["sbom", "-u", "a", "--format", "yaml"], // outside the choices
    ["get_manifest", "-u", "a", "--format", "cyclonedx-json"], // not an option of get_manifest
    ["get_manifest", "-u", "a", "--pretty=yes"],
    ["get_manifest", "-u=a"], // commander reads the value "=a"; not guessed at
    ["get_manifest", "-u", "a", "-"],
  ];
  for (const args of cases) assert.equal(prescan(args), undefined, JSON.stringify(args));
});

Deno.test("sharedOptionsKey: a negatable option's absence is true, as commander has it", () => {
  assert.equal(sharedOptionsKey({ imageUri: "a" }), sharedOptionsKey({ imageUri: "a", ecrCache: true }));
  assert.notEqual(sharedOptionsKey({ imageUri: "a" }), sharedOptionsKey({ imageUri: "a", ecrCache: false }));
  assert.notEqual(sharedOptionsKey({ imageUri: "a" }), sharedOptionsKey({ imageUri: "b" }));
  assert.notEqual(sharedOptionsKey({ caFile: ["a", "b"] }), sharedOptionsKey({ caFile: ["b", "a"] }));
});

/** What commander makes of `args`: the command and options handed to `start`, or how it refused. */
async function commanderParse(
  args: string[],
): Promise<{ command: string; options: CommonOptions } | { refused: string }> {
  const stop = new Error("parsed");
  let seen: { command: string; options: CommonOptions } | undefined;
  const program = buildProgram({ env: {}, stderr: () => {} }, (command, options): RunContext => {
    seen = { command, options };
    throw stop;
  });
  // Help and version would write to stdout; the scan never accepts them, but commander may see them here.
  program.configureOutput({ writeOut: () => {}, writeErr: () => {} });
  for (const c of program.commands) c.configureOutput(program.configureOutput());
  try {
    await program.parseAsync(args, { from: "user" });
    return { refused: "no action ran" };
  } catch (err) {
    if (err === stop && seen) return seen;
    if (err instanceof CommanderError) return { refused: err.code };
    throw err;
  }
}

Deno.test("prescan agrees with commander on every command line it accepts (fast-check)", async () => {
  const words: string[] = [
    "a",
    "alpine:3",
    "x/y@sha256:abc",
    "1.6",
    "cyclonedx-xml",
    "slsa-v1",
    "-",
    "--",
    "-x",
  ];
  const flags: string[] = ["-h", "--help", "--version", "--bogus", "-vu"];
  for (const spec of [...COMMON_OPTIONS, ...Object.values(COMMANDS).flatMap((c) => c.options)]) {
    const f = parseFlags(spec.flags);
    flags.push(`--${f.long}`);
    if (f.short) flags.push(`-${f.short}`);
    for (const choice of spec.choices ?? []) words.push(choice, `--${f.long}=${choice}`);
    if (f.takesValue) words.push(`--${f.long}=v`);
  }
  const commands = Object.entries(COMMANDS).flatMap(([name, c]) => [name, ...c.aliases]);
  const noise = fc.oneof(
    { arbitrary: fc.constantFrom(...flags), weight: 5 },
    { arbitrary: fc.constantFrom(...words), weight: 4 },
    { arbitrary: fc.constantFrom(...commands), weight: 2 },
  );
  // Mostly well-formed command lines (options with values in every spelling, before and after the command),
  // with noise mixed in, so that many are accepted and the near misses are many too.
  const optionTokens = (specs: readonly (typeof COMMON_OPTIONS)[number][]) =>
    fc.constantFrom(...specs).chain((spec) => {
      const f = parseFlags(spec.flags);
      const names = [`--${f.long}`, ...(f.short ? [`-${f.short}`] : [])];
      if (!f.takesValue) return fc.constantFrom(...names).map((n) => [n]);
      const value = spec.choices ? fc.constantFrom(...spec.choices, "other") : fc.constantFrom(...words);
      return fc.tuple(fc.constantFrom(...names), value, fc.boolean()).map(([n, v, joined]) =>
        joined && n.startsWith("--") ? [`${n}=${v}`] : [n, v]
      );
    });
  const tokens = (specs: readonly (typeof COMMON_OPTIONS)[number][]) =>
    fc.array(
      fc.oneof({ arbitrary: optionTokens(specs), weight: 6 }, {
        arbitrary: noise.map((n) => [n]),
        weight: 1,
      }),
      {
        maxLength: 4,
      },
    ).map((groups) => groups.flat());
  const structured = fc.constantFrom(...Object.entries(COMMANDS)).chain(([name, command]) =>
    fc.tuple(
      tokens(COMMON_OPTIONS),
      fc.constantFrom(name, ...command.aliases),
      tokens([...COMMON_OPTIONS, ...command.options]),
    ).map(([before, name, after]) => [...before, name, ...after])
  );
  const commandLine = fc.oneof(structured, fc.array(noise, { maxLength: 9 }));
  let accepted = 0;
  await fc.assert(
    fc.asyncProperty(commandLine, async (args) => {
      const scan = prescan(args);
      if (!scan) return;
      accepted++;
      const parsed = await commanderParse(args);
      assert.ok(!("refused" in parsed), `prescan accepted ${JSON.stringify(args)}, commander refused it`);
      assert.equal(parsed.command, scan.command, JSON.stringify(args));
      assert.equal(sharedOptionsKey(parsed.options), sharedOptionsKey(scan.options), JSON.stringify(args));
    }),
    { numRuns: 3000 },
  );
  // The generator must reach the interesting cases, or the property says nothing.
  assert.ok(accepted > 300, `only ${accepted} generated command lines were accepted`);
});

Deno.test("early start against the real registry", async (t) => {
  await using reg = await startRegistry({ auth: "none" });
  const catalog = await seedImages(reg);
  const ref = `${reg.host}/${catalog.oci.reference}`;
  const manifestPath = `/v2/${catalog.oci.repo}/manifests/${catalog.oci.tag}`;

  await t.step("adopted: the command gets the request in flight; the run costs what it did", async () => {
    await reg.clearRequests();
    const r = await runCli(["get_digest_metadata", "-u", ref, "--plain-http", "-v"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /early start adopted/);
    assert.deepEqual((await reg.requests()).map((e) => e.path), [
      manifestPath,
      `/v2/${catalog.oci.repo}/blobs/${catalog.oci.configDigest}`,
    ]);
  });

  await t.step("no request for a command line that commander or the command refuses", async () => {
    const refused: [string[], number, Record<string, string>?][] = [
      [["get_manifest", "-u", ref, "--plain-http", "--bogus"], 2],
      [["get_manifest", "-u", ref, "--plain-http", "--format", "cyclonedx-json"], 2],
      [["get_manifest", "-u", ref, "--plain-http", "--retries", "many"], 2],
      [["get_manifest", "-u", ref, "--plain-http", "--platform", "linux/"], 2],
      [["get_manifest", "-u", ref, "--plain-http", "extra"], 2],
      [["sbom", "-u", ref, "--plain-http", "--format", "yaml"], 2],
      [["sbom", "-u", ref, "--plain-http"], 2, { SOURCE_DATE_EPOCH: "yesterday" }],
      [["provenance", "-u", ref, "--plain-http"], 2], // no --subject
      [["get_manifest", "-u", ref, "--plain-http", "--help"], 0],
      [["-u", ref, "--plain-http"], 2], // no command
    ];
    for (const [args, code, env] of refused) {
      await reg.clearRequests();
      const r = await runCli(args, { env });
      assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
      assert.deepEqual(await reg.requests(), [], `${args.join(" ")} sent a request`);
    }
  });

  const io = { env: {}, stderr: () => {} };
  const args = ["get_manifest", "-u", ref, "--plain-http"];

  await t.step(
    "in process: adopt hands over the first manifest; later calls go to the registry",
    async () => {
      await reg.clearRequests();
      const early = await startEarly(args, io) as EarlyStart;
      assert.ok(early);
      const ctx = early.adopt("get_manifest", { imageUri: ref, plainHttp: true, ecrCache: true });
      assert.ok(ctx);
      assert.equal(
        early.adopt("get_manifest", { imageUri: ref, plainHttp: true }),
        undefined,
        "adopted once",
      );
      const source = await ctx.openSource();
      try {
        const first = await source.manifest();
        assert.equal(first.digest, catalog.oci.manifestDigest);
        assert.equal((await reg.requests()).length, 1);
        await source.manifest();
        assert.equal((await reg.requests()).length, 2);
      } finally {
        source.close?.();
      }
    },
  );

  await t.step("in process: adopted but never opened, abandon still ends the early request", async () => {
    const early = await startEarly(args, io) as EarlyStart;
    const ctx = early.adopt("get_manifest", { imageUri: ref, plainHttp: true });
    assert.ok(ctx);
    early.abandon(); // what run() does when the command failed before opening its source
    assert.equal(ctx.signal.aborted, true);
    early.abandon();
  });

  await t.step("in process: other options or another command abandon the early request", async () => {
    for (
      const [command, options] of [
        ["get_manifest", { imageUri: ref, plainHttp: true, retries: "1" }],
        ["get_manifest", { imageUri: `${ref}x`, plainHttp: true }],
        ["get_digest_metadata", { imageUri: ref, plainHttp: true }],
      ] as const
    ) {
      const early = await startEarly(args, io);
      assert.ok(early);
      assert.equal(early.adopt(command, options), undefined, `${command} ${JSON.stringify(options)}`);
      early.abandon(); // idempotent
    }
  });

  await t.step(
    "in process: nothing is sent for what the scan, the context or the reference refuses",
    async () => {
      await reg.clearRequests();
      assert.equal(await startEarly(["get_manifest", "-u", ref, "--help"], io), undefined);
      assert.equal(await startEarly(["capture", "-u", ref, "--plain-http"], io), undefined);
      assert.equal(await startEarly(["get_manifest", "-u", ref, "--timeout", "0"], io), undefined);
      // The reference is parsed when the source opens: the error waits for the command that adopts the start.
      const bad = `${reg.host}/UPPER/case`;
      const early = await startEarly(["get_manifest", "-u", bad, "--plain-http"], io);
      const ctx = early?.adopt("get_manifest", { imageUri: bad, plainHttp: true });
      assert.ok(ctx);
      await assert.rejects(ctx.openSource(), (err: unknown) => err instanceof ReferenceError);
      assert.deepEqual(await reg.requests(), []);
    },
  );
});
