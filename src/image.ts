/**
 * The ResolvedImage model: everything the formatters need, as plain data. Sources (registry, OCI layout)
 * produce it; formatters (raw, CycloneDX, SLSA) consume it. Nothing here does I/O.
 *
 * @module
 */

import type { Platform } from "./platform.ts";

/** Media types the tool understands. */
export const MediaTypes = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerSchema1: "application/vnd.docker.distribution.manifest.v1+json",
  dockerSchema1Signed: "application/vnd.docker.distribution.manifest.v1+prettyjws",
} as const;

/** A content descriptor (OCI image-spec descriptor.md). */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
  urls?: string[];
  artifactType?: string;
}

/** An image manifest (OCI or Docker schema2), as decoded from its bytes. */
export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** An index (OCI image index or Docker manifest list), as decoded from its bytes. */
export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/** The subset of an image config (OCI image-spec config.md) the formatters read. */
export interface ImageConfig {
  architecture?: string;
  os?: string;
  variant?: string;
  "os.version"?: string;
  created?: string;
  author?: string;
  config?: {
    Env?: string[];
    Cmd?: string[];
    Entrypoint?: string[];
    Labels?: Record<string, string>;
    WorkingDir?: string;
    User?: string;
  };
  rootfs?: { type?: string; diff_ids?: string[] };
  history?: {
    created?: string;
    created_by?: string;
    author?: string;
    comment?: string;
    empty_layer?: boolean;
  }[];
}

/** An in-toto subject: an artifact (a build output) by name and sha256. */
export interface Subject {
  name: string;
  digest: { sha256: string };
}

/** Bytes plus what they are: the verified body of a manifest, index or config. */
export interface Blob {
  /** Exactly the bytes the source served, verified against `digest`. */
  bytes: Uint8Array;
  /** `sha256:<hex>` of `bytes`. */
  digest: string;
  /** Media type as served (manifests) or as the descriptor says (config). */
  mediaType: string;
}

/** Where the image came from, in a form the formatters can name. */
export interface ImageOrigin {
  /** "registry" or "oci-layout". */
  kind: "registry" | "oci-layout";
  /** The reference as the user gave it. */
  input: string;
  /** Registry host as named in the reference (`docker.io`, `123.dkr.ecr...`), or the layout path. */
  registry: string;
  /** Repository path (`library/alpine`), or the layout's ref name for a layout. */
  repository: string;
  /** Tag, if the reference had one. */
  tag?: string;
  /** Digest, if the reference had one. */
  digest?: string;
}

/** One image, fully resolved to a single platform: the input of every formatter. */
export interface ResolvedImage {
  origin: ImageOrigin;
  /** The index (or manifest list) the reference named, when it named one. */
  index?: Blob;
  /** The platform manifest. */
  manifest: Blob;
  /** Decoded manifest. */
  manifestJson: ImageManifest;
  /** The image config blob. */
  config: Blob;
  /** Decoded config. */
  configJson: ImageConfig;
  /** The platform of this image, as its (verified) config declares it. */
  platform: Platform;
  /**
   * When a tag (or a layout's only image) was resolved to these digests: the real time, never a fixed one.
   * Absent for a digest reference (nothing was resolved) and for reproducible output.
   */
  resolvedAt?: Date;
}

/**
 * An image that cannot be read, described by name only: an AWS-managed CodeBuild image
 * (`aws/codebuild/standard:7.0`), which lives in no registry this tool can read. Documents about it say plainly
 * that it was not resolved to a digest; they never invent one.
 */
export interface UnresolvedImage {
  unresolved: true;
  /** The reference as given. */
  input: string;
  /** The image's name without the tag (`aws/codebuild/standard`). */
  name: string;
  /** The tag, when there is one. */
  tag?: string;
  /** Why it was not resolved, in a sentence. */
  reason: string;
}

/** What the formatters describe: a resolved image, or one that could not be resolved. */
export type DescribedImage = ResolvedImage | UnresolvedImage;

/** Whether `image` could not be resolved. */
export function isUnresolved(image: DescribedImage): image is UnresolvedImage {
  return "unresolved" in image && image.unresolved === true;
}

/** The reference as the user gave it, for a resolved image or one described by name only. */
export function imageInput(image: DescribedImage): string {
  return isUnresolved(image) ? image.input : image.origin.input;
}

/** How an image's reference named it: by digest (pinned), by tag (may move), or as a layout's only image. */
export function resolvedBy(origin: ImageOrigin): "digest" | "tag" | "only-image" {
  if (origin.digest) return "digest";
  if (origin.tag) return "tag";
  return "only-image";
}
