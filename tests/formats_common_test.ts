import assert from "node:assert/strict";
import { rfc3339 } from "../src/time.ts";
import { clockFrom as systemClock } from "../src/cli/environment.ts";
import { digestHex, imagePurl, imageReferenceName, toolNamespace, uuidV5 } from "../src/formats/image_ids.ts";
import { UsageError } from "../src/errors.ts";
import { PROJECT_URL } from "../src/version.ts";
import { COMPACT_MANIFEST_DIGEST, originalImage, REGISTRY } from "./support/resolved_fixture.ts";

Deno.test("systemClock: SOURCE_DATE_EPOCH fixes now() and sets sourceDateEpoch", () => {
  const clock = systemClock({ SOURCE_DATE_EPOCH: "1700000000" });
  assert.equal(clock.sourceDateEpoch, 1700000000);
  assert.equal(clock.now().toISOString(), "2023-11-14T22:13:20.000Z");
  assert.equal(systemClock({ SOURCE_DATE_EPOCH: "0" }).now().getTime(), 0);
});

Deno.test("systemClock: unset or empty SOURCE_DATE_EPOCH is the real clock", () => {
  for (const env of [{}, { SOURCE_DATE_EPOCH: "" }, { SOURCE_DATE_EPOCH: "  " }]) {
    const clock = systemClock(env);
    assert.equal(clock.sourceDateEpoch, undefined);
    assert.ok(Math.abs(clock.now().getTime() - Date.now()) < 5000);
    assert.notEqual(clock.randomUUID(), clock.randomUUID());
  }
});

Deno.test("systemClock: malformed SOURCE_DATE_EPOCH is a usage error", () => {
  for (const bad of ["-1", "1.5", "abc", "1e9", "99999999999999999"]) {
    assert.throws(() => systemClock({ SOURCE_DATE_EPOCH: bad }), UsageError, bad);
  }
});

Deno.test("rfc3339: no fractional part unless milliseconds are non-zero", () => {
  assert.equal(rfc3339(new Date(1728833738000)), "2024-10-13T15:35:38Z");
  assert.equal(rfc3339(new Date(1728833738250)), "2024-10-13T15:35:38.250Z");
});

Deno.test("uuidV5 matches RFC 9562 name-based UUIDs (python uuid.uuid5 vectors)", async () => {
  const URL_NS = "6ba7b811-9dad-11d1-80b4-00c04fd430c8";
  assert.equal(await uuidV5(URL_NS, "https://example.com"), "4fd35a71-71ef-5a55-a9d9-aa75c889a6d0");
  assert.equal(await toolNamespace(PROJECT_URL), await uuidV5(URL_NS, PROJECT_URL));
  assert.equal(
    await toolNamespace("https://github.com/Vasu77df/ecrimagemetadataextractor"),
    "ead7eece-5848-51ce-81ab-07755d12ac3d",
  );
  assert.equal(
    await uuidV5(URL_NS.toUpperCase(), "https://example.com"),
    "4fd35a71-71ef-5a55-a9d9-aa75c889a6d0",
  );
  await assert.rejects(() => uuidV5("nope", "x"), TypeError);
});

Deno.test("imagePurl / imageReferenceName / digestHex", async () => {
  const image = originalImage();
  assert.equal(
    await imagePurl(image),
    `pkg:oci/os_build_env@${COMPACT_MANIFEST_DIGEST}?arch=amd64&repository_url=${REGISTRY}%2Fos_build_env&tag=latest`,
  );
  assert.equal(imageReferenceName(image), `${REGISTRY}/os_build_env:latest`);
  const untagged = { ...image, origin: { ...image.origin, tag: undefined } };
  assert.equal(imageReferenceName(untagged), `${REGISTRY}/os_build_env@${COMPACT_MANIFEST_DIGEST}`);
  assert.equal(digestHex("sha256:abc"), "abc");
  assert.equal(digestHex("abc"), "abc");
});
