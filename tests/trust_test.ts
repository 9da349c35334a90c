/**
 * The output names the image that ran, and says how it knows (issue 10, part 2), against the real registry:
 * the verified config is the truth about the platform; every SBOM and provenance records how the reference was
 * resolved; --require-digest; -u naming another image than CODEBUILD_BUILD_IMAGE; AWS-managed images.
 */

import assert from "node:assert/strict";
import { cli } from "./support/cli.ts";
import { pushIndexOf, pushSmallImage, seedImages } from "./support/images.ts";
import { startRegistry } from "./support/registry.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const BUILD_ARN = "arn:aws:codebuild:us-east-1:123456789012:build/os-image:0f1e2d3c";
const SDE = { SOURCE_DATE_EPOCH: "1700000000" };

function oneErrorLine(stderr: string): string {
  const lines = stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0], /^ecrimagemetadataextractor: error: /);
  return lines[0];
}

Deno.test("trust: the verified config is the truth about the platform", async (t) => {
  await using reg = await startRegistry({ auth: "none" });
  const windowsArm = await pushSmallImage(reg, "trust/img", { os: "windows", architecture: "arm64" });
  const linuxAmd = await pushSmallImage(reg, "trust/img", { os: "linux", architecture: "amd64" });
  const liar = await pushIndexOf(reg, "trust/img", "liar", [
    { manifest: windowsArm, platform: { os: "linux", architecture: "amd64" } },
  ]);
  const honest = await pushIndexOf(reg, "trust/img", "honest", [
    { manifest: linuxAmd, platform: { os: "linux", architecture: "amd64" } },
  ]);
  await pushSmallImage(reg, "trust/single", { os: "linux", architecture: "amd64" }, "amd64");
  const at = (ref: string) => ["-u", `${reg.host}/${ref}`, "--plain-http"];

  await t.step(
    "an index entry claiming linux/amd64 for a windows/arm64 config: integrity error",
    async () => {
      for (const command of ["sbom", "get_digest_metadata", "get_manifest"]) {
        const r = await cli([command, ...at("trust/img:liar"), "--platform", "linux/amd64"]);
        assert.equal(r.code, 1, `${command}: ${r.stderr}`);
        assert.equal(r.stdout.length, 0);
        assert.match(
          oneErrorLine(r.stderr),
          new RegExp(
            `index entry ${windowsArm.digest} claims platform linux/amd64, but its config says windows/arm64`,
          ),
        );
      }
      assert.ok(liar.digest);
    },
  );

  await t.step("the same through an honest index works; the SBOM's platform is the config's", async () => {
    const r = await cli(["sbom", ...at("trust/img:honest"), "--platform", "linux/amd64"], { env: SDE });
    assert.equal(r.code, 0, r.stderr);
    const props = new Map(
      JSON.parse(r.stdoutText).metadata.component.properties.map((p: Json) => [p.name, p.value]),
    );
    assert.equal(props.get("ecrimagemetadataextractor:image:os"), "linux");
    assert.equal(props.get("ecrimagemetadataextractor:image:resolved-digest"), honest.digest);
  });

  await t.step("--platform on a single-platform image must match its config", async () => {
    for (const command of ["get_digest_metadata", "get_manifest", "sbom"]) {
      const r = await cli([command, ...at("trust/single:amd64"), "--platform", "linux/arm64"]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        oneErrorLine(r.stderr),
        /the image is linux\/amd64 \(a single-platform image\), not linux\/arm64/,
      );
    }
    const ok = await cli(["get_digest_metadata", ...at("trust/single:amd64"), "--platform", "linux/amd64"]);
    assert.equal(ok.code, 0, ok.stderr);
    // Without --platform the image is whatever it is.
    const any = await cli(["get_digest_metadata", ...at("trust/single:amd64")]);
    assert.equal(any.code, 0, any.stderr);
  });

  await t.step("--platform linux is linux on this machine's architecture, not linux/linux", async () => {
    const r = await cli(["get_digest_metadata", ...at("trust/single:amd64"), "--platform", "linux"]);
    if (Deno.build.arch === "x86_64") {
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdoutText).architecture, "amd64");
    } else {
      assert.match(oneErrorLine(r.stderr), /not linux\/arm64/);
    }
    const w = await cli(["get_digest_metadata", ...at("trust/single:amd64"), "--platform", "windows"]);
    assert.equal(w.code, 1);
    assert.match(oneErrorLine(w.stderr), /the image is linux\/amd64 .*not windows\//);
  });
});

Deno.test("trust: how the reference was resolved is recorded; --require-digest", async (t) => {
  await using reg = await startRegistry({ auth: "none" });
  const catalog = await seedImages(reg);
  const byTag = `${reg.host}/${catalog.oci.reference}`;
  const byDigest = `${reg.host}/${catalog.oci.digestReference}`;
  const run = (args: string[], env: Record<string, string> = {}) =>
    cli([...args, "--plain-http"], { env: { ...SDE, ...env } });

  await t.step("SBOM and provenance record reference, tag or digest, the digest, and when", async () => {
    for (const [ref, by] of [[byTag, "tag"], [byDigest, "digest"]] as const) {
      const sbom = await run(["sbom", "-u", ref]);
      assert.equal(sbom.code, 0, sbom.stderr);
      const props = new Map(
        JSON.parse(sbom.stdoutText).metadata.component.properties.map((p: Json) => [p.name, p.value]),
      );
      assert.equal(props.get("ecrimagemetadataextractor:image:reference"), ref);
      assert.equal(props.get("ecrimagemetadataextractor:image:resolved-by"), by);
      assert.equal(props.get("ecrimagemetadataextractor:image:resolved-digest"), catalog.oci.manifestDigest);
      // Under SOURCE_DATE_EPOCH no time of resolution: a fixed one would be false, the real one not reproducible.
      assert.equal(props.get("ecrimagemetadataextractor:image:resolved-at"), undefined);
      const p = await run(["provenance", "-u", ref, "--format", "descriptor"]);
      assert.equal(p.code, 0, p.stderr);
      const a = JSON.parse(p.stdoutText).annotations;
      assert.equal(a.ecrimagemetadataextractor_resolved_by, by);
      assert.equal(a.ecrimagemetadataextractor_resolved_digest, catalog.oci.manifestDigest);
      assert.equal(a.ecrimagemetadataextractor_resolved_at, undefined);

      // Without it, the real time a tag was resolved; none for a digest, which resolves nothing.
      const before = Date.now();
      const real = await cli(["provenance", "-u", ref, "--format", "descriptor", "--plain-http"]);
      assert.equal(real.code, 0, real.stderr);
      const at = JSON.parse(real.stdoutText).annotations.ecrimagemetadataextractor_resolved_at;
      if (by === "digest") assert.equal(at, undefined);
      else {
        assert.match(at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$/);
        assert.ok(Date.parse(at) >= before && Date.parse(at) <= Date.now(), at);
      }
    }
  });

  await t.step(
    "--require-digest: a tag fails before any request, saying how to pin; a digest passes",
    async () => {
      await reg.clearRequests();
      for (const command of ["get_manifest", "sbom", "provenance"]) {
        const r = await run([command, "-u", byTag, "--require-digest"]);
        assert.equal(r.code, 1, r.stderr);
        assert.match(
          oneErrorLine(r.stderr),
          new RegExp(`names the tag v1, which can move.*pin it: -u ${reg.host}/test/oci@sha256:`),
        );
      }
      const env = await run(["get_manifest", "--require-digest"], { CODEBUILD_BUILD_IMAGE: byTag });
      assert.equal(env.code, 1, "CODEBUILD_BUILD_IMAGE by tag fails too");
      assert.deepEqual(await reg.requests(), []);
      const ok = await run(["get_manifest", "-u", byDigest, "--require-digest"]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.deepEqual(ok.stdout, catalog.oci.manifestBytes);
    },
  );

  await t.step(
    "in CodeBuild with a build id but no ARN: no builder is known, a usage error before any request",
    async () => {
      const subject = await Deno.makeTempFile();
      try {
        await reg.clearRequests();
        for (const command of ["provenance", "capture"]) {
          const dir = command === "capture" ? ["--output-dir", "/tmp"] : [];
          const r = await run([command, "-u", byTag, "--subject", subject, ...dir], {
            CODEBUILD_BUILD_ID: "os-image:0b5c7c2e-1111-2222-3333-444455556666",
          });
          assert.equal(r.code, 2, r.stderr);
          assert.match(
            oneErrorLine(r.stderr),
            /provenance needs a builder id, and this CodeBuild build does not name its project/,
          );
        }
        assert.deepEqual(await reg.requests(), []);
        const named = await run(["provenance", "-u", byTag, "--subject", subject, "--builder-id", "arn:x"], {
          CODEBUILD_BUILD_ID: "os-image:0b5c7c2e-1111-2222-3333-444455556666",
        });
        assert.equal(named.code, 0, named.stderr);
      } finally {
        await Deno.remove(subject);
      }
    },
  );

  await t.step(
    "in CodeBuild, -u naming another repository than CODEBUILD_BUILD_IMAGE: one warning",
    async () => {
      const env = {
        CODEBUILD_BUILD_ARN: BUILD_ARN,
        CODEBUILD_BUILD_IMAGE: `${reg.host}/${catalog.docker.reference}`,
      };
      const subject = await Deno.makeTempFile();
      try {
        const r = await run(["provenance", "-u", byTag, "--subject", subject], env);
        assert.equal(r.code, 0, r.stderr);
        const lines = r.stderr.trimEnd().split("\n");
        assert.equal(lines.length, 1, r.stderr);
        assert.match(
          lines[0],
          /^ecrimagemetadataextractor: warning: -u names .*test\/oci:v1, but this CodeBuild build runs in .*test\/docker:v1/,
        );
        const bd = JSON.parse(r.stdoutText).predicate.buildDefinition;
        assert.equal(bd.externalParameters.environmentImage, env.CODEBUILD_BUILD_IMAGE);
        assert.equal(bd.resolvedDependencies[0].annotations.ecrimagemetadataextractor_reference, byTag);
        assert.equal(
          bd.resolvedDependencies[0].annotations.ecrimagemetadataextractor_environment_image,
          "false",
        );
        // The same repository by digest against a tag: whether it is the same image is not known, and said so.
        const same = await run(["provenance", "-u", byDigest, "--subject", subject], {
          ...env,
          CODEBUILD_BUILD_IMAGE: byTag,
        });
        assert.equal(same.code, 0, same.stderr);
        assert.equal(same.stderr.trimEnd().split("\n").length, 1, same.stderr);
        assert.match(
          same.stderr,
          /^ecrimagemetadataextractor: warning: -u names .*test\/oci@sha256:\S+ and this CodeBuild build runs in .*test\/oci:v1 .*the same repository, but whether the same image is not known/,
        );
        assert.equal(
          JSON.parse(same.stdoutText).predicate.buildDefinition.resolvedDependencies[0].annotations
            .ecrimagemetadataextractor_environment_image,
          "unknown",
        );
        // The very reference CodeBuild names (Docker Hub's short form aside): no warning, and "true".
        const own = await run(["provenance", "-u", byTag, "--subject", subject], {
          ...env,
          CODEBUILD_BUILD_IMAGE: byTag,
        });
        assert.equal(own.stderr, "");
        assert.equal(
          JSON.parse(own.stdoutText).predicate.buildDefinition.resolvedDependencies[0].annotations
            .ecrimagemetadataextractor_environment_image,
          "true",
        );
      } finally {
        await Deno.remove(subject);
      }
    },
  );
});

Deno.test("trust: AWS-managed images are described by name, plainly unresolved; get_* still refuse", async () => {
  const env = { ...SDE, CODEBUILD_BUILD_ARN: BUILD_ARN, CODEBUILD_BUILD_IMAGE: "aws/codebuild/standard:7.0" };
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/os.img`, "image\n");
    const warning =
      /^ecrimagemetadataextractor: warning: aws\/codebuild\/standard:7\.0 is an AWS-managed CodeBuild image/;
    const sbom = await cli(["sbom"], { env });
    assert.equal(sbom.code, 0, sbom.stderr);
    assert.match(sbom.stderr.trimEnd(), warning);
    assert.equal(sbom.stderr.trimEnd().split("\n").length, 1);
    const c = JSON.parse(sbom.stdoutText).metadata.component;
    assert.deepEqual([c.name, c.version, c.purl, c.hashes], [
      "aws/codebuild/standard",
      "7.0",
      undefined,
      undefined,
    ]);

    const prov = await cli(["provenance", "--subject", `${dir}/os.img`], { env });
    assert.equal(prov.code, 0, prov.stderr);
    const bd = JSON.parse(prov.stdoutText).predicate.buildDefinition;
    assert.equal(bd.internalParameters.unresolvedEnvironmentImage.reference, "aws/codebuild/standard:7.0");
    assert.deepEqual(bd.resolvedDependencies, []);

    const cap = await cli(["capture", "--output-dir", dir, "--subject", `${dir}/os.img`], { env });
    assert.equal(cap.code, 0, cap.stderr);
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(names, [
      "build-env.artifacts.cdx.json",
      "build-env.capture.json",
      "build-env.cdx.json",
      "build-env.intoto.json",
      "os.img",
    ]);

    for (const command of ["get_manifest", "get_digest_metadata"]) {
      const r = await cli([command], { env });
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        oneErrorLine(r.stderr),
        /curated AWS CodeBuild image, which is not in a registry this tool can read/,
      );
    }
    const strict = await cli(["sbom", "--require-digest"], { env });
    assert.equal(strict.code, 1);
    assert.match(
      oneErrorLine(strict.stderr),
      /AWS-managed CodeBuild image, which cannot be resolved to a digest/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
