/**
 * The CycloneDX component types a build's artifact may have, for the artifacts BOM. A module of its own, with
 * no imports: the command line's option table lists them too, and loads nothing else for it.
 *
 * @module
 */

/** CycloneDX component types an artifact may have. */
export const ARTIFACT_TYPES = [
  "file",
  "firmware",
  "operating-system",
  "application",
  "library",
  "container",
  "device",
  "data",
] as const;

/** One of {@link ARTIFACT_TYPES}. */
export type ArtifactType = (typeof ARTIFACT_TYPES)[number];
