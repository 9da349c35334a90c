/**
 * The CycloneDX JSON schema check the tests hold every SBOM to: the library's strict validator (ajv over the
 * official schemas it ships in res/schema/). Test-only: the tool itself never loads the library.
 */
import assert from "node:assert/strict";
import process from "node:process";

// deno-lint-ignore no-explicit-any
type Json = any;

const validators = new Map<string, { validate(data: string): Promise<unknown> }>();

export async function strictValidator(
  spec: "1.6" | "1.5",
): Promise<{ validate(data: string): Promise<unknown> }> {
  let v = validators.get(spec);
  if (!v) {
    // The validator's optional peers must be in the module graph for the library's require() to find them.
    // ajv-formats-draft2019 requires node:punycode, whose deprecation warning would clutter the test output.
    (process as { noDeprecation?: boolean }).noDeprecation = true;
    await Promise.all([import("ajv"), import("ajv-formats"), import("ajv-formats-draft2019")]);
    const [{ JsonStrictValidator }, { Version }] = await Promise.all([
      import("@cyclonedx/cyclonedx-library/Validation"),
      import("@cyclonedx/cyclonedx-library/Spec"),
    ]);
    v = new JsonStrictValidator(spec === "1.5" ? Version.v1dot5 : Version.v1dot6);
    validators.set(spec, v);
  }
  return v;
}

/** Assert `text` is a valid CycloneDX `spec` JSON document (strict schema); returns it parsed. */
export async function assertValidCycloneDx(text: string, spec: "1.6" | "1.5" = "1.6"): Promise<Json> {
  const errors = await (await strictValidator(spec)).validate(text);
  assert.equal(
    errors,
    null,
    `SBOM fails the CycloneDX ${spec} strict schema: ${JSON.stringify(errors)?.slice(0, 2000)}`,
  );
  return JSON.parse(text);
}
