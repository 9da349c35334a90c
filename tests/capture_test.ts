/**
 * `capture` writes only what it owns (issue 10, part 1), against the real registry, in a simulated CodeBuild
 * job's output directory: name-prefixed files, a record of what it wrote, nothing of the user's replaced or
 * removed, anything in its way stops the run before any request, a subject that is an output is a usage error;
 * and the files it writes together: the artifacts' BOM, the provenance with the SBOMs as byproducts, signed.
 */

import assert from "node:assert/strict";
import { createPublicKey, verify as nodeVerify } from "node:crypto";
import { pae } from "../src/sign/dsse.ts";
import { cli, REPO_ROOT } from "./support/cli.ts";
import { seedImages } from "./support/images.ts";
import { sha256Digest } from "./support/push.ts";
import { startRegistry } from "./support/registry.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

/** A CodeBuild job, as CodeBuild sets its environment. */
const CODEBUILD = {
  SOURCE_DATE_EPOCH: "1700000000",
  CODEBUILD_BUILD_ARN: "arn:aws:codebuild:us-east-1:123456789012:build/os-image:0f1e2d3c",
  CODEBUILD_BUILD_ID: "os-image:0f1e2d3c",
  CODEBUILD_START_TIME: "1699999000000",
  CODEBUILD_SOURCE_REPO_URL: "https://github.com/example/os-image.git",
  CODEBUILD_SOURCE_VERSION: "refs/heads/main",
  CODEBUILD_RESOLVED_SOURCE_VERSION: "0123456789abcdef0123456789abcdef01234567",
};

async function listing(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    const info = await Deno.lstat(path);
    out[e.name] = info.isFile ? sha256Digest(await Deno.readFile(path)) : info.isDirectory ? "dir" : "link";
  }
  return out;
}

Deno.test("capture: writes only what it owns", async (t) => {
  await using reg = await startRegistry({ auth: "none" });
  const catalog = await seedImages(reg);
  const multi = `${reg.host}/${catalog.multi.reference}`;
  const single = `${reg.host}/${catalog.oci.reference}`;
  const work = await Deno.makeTempDir({ prefix: "capture-test-" });
  let n = 0;
  const fresh = async () => {
    const d = `${work}/job-${++n}`;
    await Deno.mkdir(d);
    await Deno.writeTextFile(`${d}/os.img`, "the OS image\n");
    return d;
  };
  const capture = (dir: string, ref: string, extra: string[] = []) =>
    cli(["capture", "-u", ref, "--plain-http", "--platform", "linux/amd64", "--output-dir", dir, ...extra], {
      env: CODEBUILD,
    });

  try {
    await t.step("the user's own files with the old names survive; capture's are name-prefixed", async () => {
      const dir = await fresh();
      for (const name of ["index.json", "manifest.json", "config.json", "sbom.cdx.xml", "sbom.cdx.json"]) {
        await Deno.writeTextFile(`${dir}/${name}`, `the user's ${name}\n`);
      }
      const before = await listing(dir);
      const r = await capture(dir, multi, ["--subject", `${dir}/os.img`]);
      assert.equal(r.code, 0, r.stderr);
      const after = await listing(dir);
      for (const [name, digest] of Object.entries(before)) {
        assert.equal(after[name], digest, `${name} changed`);
      }
      assert.deepEqual(Object.keys(after).filter((k) => !(k in before)).sort(), [
        "build-env.artifacts.cdx.json",
        "build-env.capture.json",
        "build-env.cdx.json",
        "build-env.config.json",
        "build-env.descriptor.json",
        "build-env.index.json",
        "build-env.intoto.json",
        "build-env.manifest.json",
      ]);
      // The record lists exactly what was written, with each file's digest.
      const record = JSON.parse(await Deno.readTextFile(`${dir}/build-env.capture.json`));
      assert.equal(
        record.recordType,
        "https://github.com/Vasu77df/ecrimagemetadataextractor/capture-record/v1",
      );
      const written = Object.keys(after).filter((k) => !(k in before) && k !== "build-env.capture.json");
      assert.deepEqual(Object.keys(record.files).sort(), written.sort());
      for (const name of written) assert.equal(record.files[name], after[name], name);
      // The provenance names the SBOMs written beside it, by digest.
      const statement = JSON.parse(await Deno.readTextFile(`${dir}/build-env.intoto.json`));
      const byproducts = statement.predicate.runDetails.byproducts;
      assert.deepEqual(byproducts.map((b: Json) => b.name).sort(), [
        "build-env.artifacts.cdx.json",
        "build-env.cdx.json",
      ]);
      for (const b of byproducts) assert.equal(`sha256:${b.digest.sha256}`, after[b.name]);
      const artifacts = JSON.parse(await Deno.readTextFile(`${dir}/build-env.artifacts.cdx.json`));
      assert.equal(artifacts.metadata.component.name, "os.img");
      assert.equal(artifacts.formulation[0].workflows[0].uid, CODEBUILD.CODEBUILD_BUILD_ARN);
    });

    await t.step("a later run replaces its own files and removes its stale ones, nothing else", async () => {
      const dir = await fresh();
      const first = await capture(dir, multi, ["--subject", `${dir}/os.img`]);
      assert.equal(first.code, 0, first.stderr);
      await Deno.writeTextFile(`${dir}/notes.txt`, "keep me\n");
      // Single-platform, no subject, XML: the index, provenance, artifacts BOM and JSON SBOM no longer apply.
      const second = await capture(dir, single, ["--format", "cyclonedx-xml"]);
      assert.equal(second.code, 0, second.stderr);
      assert.deepEqual(Object.keys(await listing(dir)).sort(), [
        "build-env.capture.json",
        "build-env.cdx.xml",
        "build-env.config.json",
        "build-env.descriptor.json",
        "build-env.manifest.json",
        "notes.txt",
        "os.img",
      ]);
      const again = await capture(dir, single, ["--format", "cyclonedx-xml"]);
      assert.equal(again.code, 0, "a run over its own unchanged files goes through");
    });

    await t.step("a file in the way that capture did not write stops it before any request", async () => {
      const dir = await fresh();
      await Deno.writeTextFile(`${dir}/build-env.cdx.json`, "the user's own SBOM\n");
      const before = await listing(dir);
      await reg.clearRequests();
      const r = await capture(dir, multi);
      assert.equal(r.code, 1);
      const lines = r.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, r.stderr);
      assert.match(
        lines[0],
        new RegExp(`${dir}/build-env\\.cdx\\.json is in the way: this tool did not write it`),
      );
      assert.deepEqual(await listing(dir), before, "nothing changed");
      assert.deepEqual(await reg.requests(), [], "no request");
    });

    await t.step(
      "a file capture wrote that changed since stops it; so does a stale one that changed",
      async () => {
        const dir = await fresh();
        assert.equal((await capture(dir, multi, ["--subject", `${dir}/os.img`])).code, 0);
        await Deno.writeTextFile(`${dir}/build-env.config.json`, "edited by hand\n");
        let before = await listing(dir);
        let r = await capture(dir, multi, ["--subject", `${dir}/os.img`]);
        assert.equal(r.code, 1);
        assert.match(
          r.stderr,
          /build-env\.config\.json is in the way: it changed since this tool wrote it; nothing was changed/,
        );
        assert.deepEqual(await listing(dir), before);
        // Restore it, then edit a file the next run would remove (the index: the next image has none).
        const record = JSON.parse(await Deno.readTextFile(`${dir}/build-env.capture.json`));
        await Deno.remove(`${dir}/build-env.config.json`);
        await Deno.writeTextFile(`${dir}/build-env.index.json`, "edited\n");
        before = await listing(dir);
        r = await capture(dir, single);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /build-env\.index\.json is in the way: it changed since this tool wrote it/);
        assert.deepEqual(await listing(dir), before);
        assert.ok(record.files["build-env.index.json"]);
      },
    );

    await t.step(
      "a symlink or a directory in the way stops it; so does a record it did not write",
      async () => {
        const dir = await fresh();
        await Deno.symlink(`${dir}/os.img`, `${dir}/build-env.manifest.json`);
        let r = await capture(dir, single);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /build-env\.manifest\.json is in the way/);
        assert.equal(
          await Deno.readTextFile(`${dir}/os.img`),
          "the OS image\n",
          "the link's target untouched",
        );
        await Deno.remove(`${dir}/build-env.manifest.json`);
        await Deno.mkdir(`${dir}/build-env.config.json`);
        r = await capture(dir, single);
        assert.match(r.stderr, /build-env\.config\.json is in the way/);
        await Deno.remove(`${dir}/build-env.config.json`);
        await Deno.writeTextFile(
          `${dir}/build-env.capture.json`,
          JSON.stringify({ files: { "os.img": "x" } }),
        );
        r = await capture(dir, single);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /build-env\.capture\.json is in the way: it is not a record this tool wrote/);
        assert.equal(await Deno.readTextFile(`${dir}/os.img`), "the OS image\n");
      },
    );

    await t.step("a forged record cannot make capture remove a file outside its names", async () => {
      const dir = await fresh();
      // The build's own file, with the digest of what it holds: a record naming it would let a run remove it.
      const os = new TextEncoder().encode("os image\n");
      await Deno.writeFile(`${dir}/os.img`, os);
      await Deno.mkdir(`${dir}/link`);
      await Deno.writeFile(`${dir}/link/x`, os);
      for (
        const name of [
          "../outside.txt",
          "os.img",
          "link/x",
          "build-env.attached/../os.img",
          "build-env.attached/os.img",
          "build-env.capture.json",
          "build-env.cdx.json/",
        ]
      ) {
        const forged = {
          recordType: "https://github.com/Vasu77df/ecrimagemetadataextractor/capture-record/v1",
          files: { [name]: sha256Digest(os) },
        };
        await Deno.writeTextFile(`${dir}/build-env.capture.json`, JSON.stringify(forged));
        const r = await capture(dir, single);
        assert.equal(r.code, 1, name);
        assert.match(r.stderr, /not a record this tool wrote/, name);
        assert.deepEqual(await Deno.readFile(`${dir}/os.img`), os, name);
        assert.deepEqual(await Deno.readFile(`${dir}/link/x`), os, name);
      }
    });

    await t.step("--subject that is one of capture's outputs: usage error before any request", async () => {
      const dir = await fresh();
      await Deno.writeTextFile(`${dir}/build-env.cdx.json`, "{}\n");
      await reg.clearRequests();
      const r = await capture(dir, single, ["--subject", `${dir}/build-env.cdx.json`]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /--subject .*build-env\.cdx\.json is also a file capture writes/);
      assert.deepEqual(await reg.requests(), []);
    });

    await t.step(
      "provenance and sbom: -o naming a --subject is a usage error before any request",
      async () => {
        const dir = await fresh();
        const os = new TextEncoder().encode("os image\n");
        await Deno.writeFile(`${dir}/os.img`, os);
        await Deno.symlink(`${dir}/os.img`, `${dir}/link.json`);
        await reg.clearRequests();
        for (
          const args of [
            ["provenance", "--subject", `${dir}/os.img`, "-o", `${dir}/os.img`],
            ["provenance", "--subject", `${dir}/os.img`, "-o", `${dir}/../${dir.split("/").pop()}/os.img`],
            ["provenance", "--subject", `${dir}/os.img`, "--output", `${dir}/link.json`],
            ["sbom", "--subject", `${dir}/os.img`, "-o", `${dir}/link.json`],
          ]
        ) {
          const builder = args[0] === "provenance" ? ["--builder-id", "https://ci.example/b"] : [];
          const r = await cli([...args, "-u", single, "--plain-http", ...builder], {
            env: { SOURCE_DATE_EPOCH: "1700000000" },
          });
          assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
          assert.match(r.stderr, /--subject .*os\.img is also the output file \(-o .*\)/);
          assert.deepEqual(await Deno.readFile(`${dir}/os.img`), os);
        }
        assert.deepEqual(await reg.requests(), []);
        // Apart, the same command writes.
        const fine = await cli([
          "provenance",
          "--subject",
          `${dir}/os.img`,
          "-o",
          `${dir}/os.img.intoto.json`,
          "-u",
          single,
          "--plain-http",
          "--builder-id",
          "https://ci.example/b",
        ]);
        assert.equal(fine.code, 0, fine.stderr);
        assert.deepEqual(await Deno.readFile(`${dir}/os.img`), os);
      },
    );

    await t.step("--prefix names the files; an invalid prefix is a usage error", async () => {
      const dir = await fresh();
      const r = await capture(dir, single, ["--prefix", "toolchain"]);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(Object.keys(await listing(dir)).includes("toolchain.capture.json"));
      for (const bad of ["../x", "a/b", ".hidden", ""]) {
        const b = await capture(dir, single, ["--prefix", bad]);
        assert.equal(b.code, 2, `${bad}: ${b.stderr}`);
      }
    });

    await t.step("--sign writes the provenance as a signed envelope that verifies", async () => {
      const dir = await fresh();
      const key = `${REPO_ROOT}/fixtures/keys/test-p256.key.pem`;
      const r = await capture(dir, single, ["--subject", `${dir}/os.img`, "--sign", key]);
      assert.equal(r.code, 0, r.stderr);
      const names = Object.keys(await listing(dir));
      assert.ok(names.includes("build-env.intoto.jsonl") && !names.includes("build-env.intoto.json"));
      const env = JSON.parse(await Deno.readTextFile(`${dir}/build-env.intoto.jsonl`));
      const payload = Uint8Array.from(atob(env.payload), (c) => c.charCodeAt(0));
      const sig = Uint8Array.from(atob(env.signatures[0].sig), (c) => c.charCodeAt(0));
      const pub = createPublicKey(await Deno.readTextFile(`${REPO_ROOT}/fixtures/keys/test-p256.pub.pem`));
      assert.ok(nodeVerify("sha256", pae(env.payloadType, payload), pub, sig));
      assert.equal(JSON.parse(new TextDecoder().decode(payload)).subject[0].name, "os.img");
    });
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});
