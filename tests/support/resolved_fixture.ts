/**
 * ResolvedImage fixtures built from the real bytes of the original build image
 * (fixtures/original-build-image/config.json, sha256:8a4a4313...). The registry's manifest bytes are unknown (only
 * a jq-indented copy exists), so the manifest is a compact re-encoding of it, manifest.compact.json, whose digest
 * is {@link COMPACT_MANIFEST_DIGEST}.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { Blob, ResolvedImage } from "../../src/image.ts";
import { MediaTypes } from "../../src/image.ts";
import { decodeConfig, decodeManifest } from "../../src/manifest.ts";
import { configPlatform } from "../../src/source.ts";

const dir = new URL("../../fixtures/original-build-image/", import.meta.url);

/** Digest of the real config blob. */
export const CONFIG_DIGEST = "sha256:8a4a4313bd7cff420330aaf52e49da247b4c6107f44211d92db576e49b3f9659";
/** Digest of manifest.compact.json (checked when the fixture loads). */
export const COMPACT_MANIFEST_DIGEST =
  "sha256:1388c238cb288dcd5d85c7c725f2d82028261cbdf292b47261e19b7326b96721";
/** Where the image lives. */
export const REGISTRY = "772738948692.dkr.ecr.us-east-1.amazonaws.com";
export const REPOSITORY = "os_build_env";
export const TAG = "latest";

/** CodeBuild environment used by the golden files. */
export const CODEBUILD_ENV: Record<string, string> = {
  CODEBUILD_BUILD_ARN:
    "arn:aws:codebuild:us-east-1:772738948692:build/os-image-build:6f1c2b3a-1d2e-4f5a-9b8c-7d6e5f4a3b2c",
  CODEBUILD_BUILD_ID: "os-image-build:6f1c2b3a-1d2e-4f5a-9b8c-7d6e5f4a3b2c",
  CODEBUILD_BUILD_IMAGE: `${REGISTRY}/${REPOSITORY}:${TAG}`,
  CODEBUILD_SOURCE_REPO_URL: "https://github.com/Vasu77df/os-image.git",
  CODEBUILD_RESOLVED_SOURCE_VERSION: "0123456789abcdef0123456789abcdef01234567",
  CODEBUILD_START_TIME: "1728833738000",
  CODEBUILD_INITIATOR: "codepipeline/os-image-pipeline",
  AWS_REGION: "us-east-1",
};

function blob(bytes: Uint8Array, mediaType: string, expected?: string): Blob {
  // Synchronous, so fixtures stay plain values (the tool itself hashes with Web Crypto).
  const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
  if (expected && digest !== expected) throw new Error(`fixture digest ${digest} is not ${expected}`);
  return { bytes, digest, mediaType };
}

/** The real config and the compact manifest, as bytes. */
export function fixtureBytes(): { config: Uint8Array; manifest: Uint8Array } {
  return {
    config: Deno.readFileSync(new URL("config.json", dir)),
    manifest: Deno.readFileSync(new URL("manifest.compact.json", dir)),
  };
}

/** The original build image, referenced by tag, no index: what ECR served for `os_build_env:latest`. */
export function originalImage(): ResolvedImage {
  const bytes = fixtureBytes();
  const manifest = blob(bytes.manifest, MediaTypes.dockerManifest, COMPACT_MANIFEST_DIGEST);
  const decoded = decodeManifest(manifest.bytes, manifest.mediaType);
  if (decoded.kind !== "manifest") throw new Error("fixture manifest decoded as an index");
  const config = blob(bytes.config, decoded.manifest.config.mediaType, CONFIG_DIGEST);
  const configJson = decodeConfig(config.bytes);
  return {
    origin: {
      kind: "registry",
      input: `${REGISTRY}/${REPOSITORY}:${TAG}`,
      registry: REGISTRY,
      repository: REPOSITORY,
      tag: TAG,
    },
    manifest,
    manifestJson: decoded.manifest,
    config,
    configJson,
    platform: configPlatform(configJson)!,
    // The tag was resolved at 1700000000 (the same instant as the goldens' SOURCE_DATE_EPOCH).
    resolvedAt: new Date(1700000000 * 1000),
  };
}

/**
 * The same image reached through a multi-arch manifest list (amd64 = the real manifest, arm64 = a made-up
 * entry), tag `multiarch`: for the index-digest/index-media-type properties and annotations.
 */
export function originalImageViaIndex(): ResolvedImage {
  const base = originalImage();
  const indexJson = {
    schemaVersion: 2,
    mediaType: MediaTypes.dockerManifestList,
    manifests: [
      {
        mediaType: MediaTypes.dockerManifest,
        size: base.manifest.bytes.byteLength,
        digest: base.manifest.digest,
        platform: { architecture: "amd64", os: "linux" },
      },
      {
        mediaType: MediaTypes.dockerManifest,
        size: 1415,
        digest: `sha256:${"ab".repeat(32)}`,
        platform: { architecture: "arm64", os: "linux", variant: "v8" },
      },
    ],
  };
  const index = blob(new TextEncoder().encode(JSON.stringify(indexJson)), MediaTypes.dockerManifestList);
  const decoded = decodeManifest(index.bytes, index.mediaType);
  if (decoded.kind !== "index") throw new Error("fixture index decoded as a manifest");
  return {
    ...base,
    origin: { ...base.origin, input: `${REGISTRY}/${REPOSITORY}:multiarch`, tag: "multiarch" },
    index,
  };
}
