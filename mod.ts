/**
 * ecrimagemetadataextractor as a library: parse a reference, open a registry or an OCI layout, resolve an
 * image to one platform with every byte verified, and format it.
 *
 * @example
 * ```ts
 * import { openRegistry, parsePlatform, parseReference, resolveImage } from "./mod.ts";
 *
 * const ref = parseReference("public.ecr.aws/docker/library/alpine:3");
 * const source = openRegistry(ref, "public.ecr.aws/docker/library/alpine:3", { env: Deno.env.toObject(), retries: 3 });
 * const image = await resolveImage(source, { platform: parsePlatform("linux/amd64") });
 * console.log(image.config.digest, image.configJson.architecture);
 * source.close();
 * ```
 *
 * @module
 */

export * from "./src/errors.ts";
export type * from "./src/image.ts";
export { MediaTypes } from "./src/image.ts";
export { digestOf, parseDigest, sha256Stream, verifyDigest } from "./src/digest.ts";
export {
  formatPlatform,
  hostPlatform,
  normalizePlatform,
  parsePlatform,
  type Platform,
} from "./src/platform.ts";
export { apiHost, formatReference, parseReference, type Reference } from "./src/reference.ts";
export { decodeConfig, decodeManifest } from "./src/manifest.ts";
export { type ImageSource, type Referrers, resolveImage, resolveManifest } from "./src/source.ts";
export {
  type AttachedDocument,
  type Attachment,
  findAttachments,
  type FoundVia,
  loadAttachedDocuments,
  MAX_ATTACHED_DOCUMENT_BYTES,
  referrersTag,
} from "./src/attachments.ts";
export { type AttachedInventory, attachedInventory } from "./src/formats/attached_sbom.ts";
export { openRegistry, type RegistrySettings } from "./src/registry/mod.ts";
export { parseEcrHost } from "./src/registry/ecr.ts";
export { openOciLayout, parseOciReference } from "./src/oci-layout.ts";
export { cyclonedxSbom, type SbomOptions } from "./src/formats/cyclonedx.ts";
export { provenance, type ProvenanceOptions } from "./src/formats/slsa.ts";
export { type Clock, systemClock } from "./src/formats/clock.ts";
export { hashSubjects } from "./src/subjects.ts";
export { writeFileAtomic, writeFilesAtomic } from "./src/output.ts";
export { TOOL_NAME, VERSION } from "./src/version.ts";
