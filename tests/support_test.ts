/**
 * Exercises the integration-test infrastructure in tests/support/ for real: the Distribution registry in its three
 * auth modes, seeding, skopeo as a reference client, the access log and the token issuer.
 */

import assert from "node:assert/strict";
import { type Catalog, catalogEntries, seedImages } from "./support/images.ts";
import { type RegistryAuth, startRegistry, type TestRegistry } from "./support/registry.ts";
import { skopeoInspect } from "./support/skopeo.ts";
import { requireBinary } from "./support/tools.ts";
import { sha256Digest } from "./support/push.ts";

const dec = new TextDecoder();

/** Like Promise.all, but waits for every promise (no stragglers running into the next step) before throwing. */
async function all(promises: Promise<void>[]): Promise<void> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
}

function assertBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  // Compare as text first for a readable diff, then exactly.
  assert.equal(dec.decode(actual), dec.decode(expected), what);
  assert.equal(sha256Digest(actual), sha256Digest(expected), what);
}

async function checkManifests(reg: TestRegistry, catalog: Catalog): Promise<void> {
  const checks: Promise<void>[] = [];
  for (const e of catalogEntries(catalog)) {
    for (const ref of [e.reference, e.digestReference]) {
      checks.push(skopeoInspect(reg, ref).then((b) => assertBytes(b, e.manifestBytes, `manifest of ${ref}`)));
    }
    if (e.kind === "index") {
      for (const m of e.entries) {
        checks.push(
          skopeoInspect(reg, m.digestReference).then((b) =>
            assertBytes(b, m.manifestBytes, m.digestReference)
          ),
        );
      }
    }
  }
  await all(checks);
}

async function checkConfigs(reg: TestRegistry, catalog: Catalog): Promise<void> {
  const checks: Promise<void>[] = [];
  for (const e of catalogEntries(catalog)) {
    if (e.kind === "image") {
      checks.push(
        skopeoInspect(reg, e.reference, { config: true }).then((b) =>
          assertBytes(b, e.configBytes, `config of ${e.reference}`)
        ),
      );
      continue;
    }
    for (const m of e.entries) {
      checks.push(
        skopeoInspect(reg, m.digestReference, { config: true }).then((b) =>
          assertBytes(b, m.configBytes, `config of ${m.digestReference}`)
        ),
      );
      if (m.attestation) continue;
      const platform = { os: m.platform.os, arch: m.platform.architecture, variant: m.platform.variant };
      checks.push(
        skopeoInspect(reg, e.reference, { config: true, platform }).then((b) =>
          assertBytes(b, m.configBytes, `config of ${e.reference} for ${JSON.stringify(platform)}`)
        ),
      );
    }
  }
  await all(checks);
}

for (const auth of ["none", "basic", "token"] as RegistryAuth[]) {
  Deno.test(`support: registry auth=${auth}: seeded content round-trips through skopeo`, async (t) => {
    await using reg = await startRegistry({ auth });
    assert.equal(reg.tls, auth !== "none");
    assert.match(reg.url, auth === "none" ? /^http:\/\/127\.0\.0\.1:\d+$/ : /^https:\/\/127\.0\.0\.1:\d+$/);
    const catalog = await seedImages(reg);

    await t.step("catalog is consistent", () => {
      assert.equal(
        catalog.original.configDigest,
        "sha256:8a4a4313bd7cff420330aaf52e49da247b4c6107f44211d92db576e49b3f9659",
      );
      assert.equal(catalog.original.configBytes.length, 4552);
      for (const e of catalogEntries(catalog)) assert.equal(sha256Digest(e.manifestBytes), e.manifestDigest);
      const arm = catalog.multi.entries[1];
      assert.equal(JSON.parse(dec.decode(arm.configBytes)).variant, "v8");
      const att = catalog.multi.entries[2];
      assert.equal(att.annotations?.["vnd.docker.reference.digest"], catalog.multi.entries[0].manifestDigest);
    });

    await t.step("skopeo inspect --raw returns the exact manifest bytes", () => checkManifests(reg, catalog));
    await t.step(
      "skopeo inspect --config --raw returns the exact config bytes",
      () => checkConfigs(reg, catalog),
    );

    await t.step("requests() lists the registry's GETs", async () => {
      await reg.clearRequests();
      assert.deepEqual(await reg.requests(), []);
      await skopeoInspect(reg, catalog.oci.reference);
      const reqs = await reg.requests();
      assert.ok(
        reqs.some((r) => r.method === "GET" && r.path === "/v2/test/oci/manifests/v1" && r.status === 200),
        JSON.stringify(reqs),
      );
      assert.ok(reqs.every((r) => r.path.startsWith("/v2/")), JSON.stringify(reqs));
    });

    if (auth !== "none") {
      await t.step("without credentials test/oci is refused", async () => {
        await assert.rejects(
          skopeoInspect(reg, catalog.oci.reference, { creds: false }),
          /unauthorized|401/i,
        );
      });
    }

    if (auth === "token") {
      await t.step("anonymous token access: public/ is pullable", async () => {
        const before = reg.tokenRequests().length;
        assertBytes(
          await skopeoInspect(reg, catalog.public.reference, { creds: false }),
          catalog.public.manifestBytes,
          "anonymous public/hello",
        );
        const anon = reg.tokenRequests().slice(before).filter((r) => !r.authenticated);
        assert.ok(anon.some((r) => r.scope === "repository:public/hello:pull"), JSON.stringify(anon));
        assert.ok(
          reg.tokenRequests().some((r) => r.authenticated),
          "authenticated token requests were recorded",
        );
      });
    }
  });
}

Deno.test("support: requireBinary fails clearly for a missing binary", () => {
  assert.throws(
    () => requireBinary("definitely-not-installed-binary-xyz"),
    /required binary "definitely-not/,
  );
  assert.ok(requireBinary("docker-registry").startsWith("/"));
  assert.ok(requireBinary("skopeo").startsWith("/"));
});
