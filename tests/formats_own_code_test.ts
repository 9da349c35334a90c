/**
 * The documents are written by this project's own code, with what it needs from the CycloneDX library carried
 * along: the SPDX licence list the formatter carries is the library's (the tests still use the library, as a
 * reference and for schema validation).
 *
 * @module
 */

import assert from "node:assert/strict";
import { SPDX_LICENSE_IDS, spdxLicenseId } from "../src/formats/spdx_ids.ts";

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
