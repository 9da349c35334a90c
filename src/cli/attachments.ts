/**
 * `attachments` (alias `referrers`): what is attached to the resolved image (BuildKit attestation manifests,
 * OCI referrers by API or tag, cosign tags), as JSON. And the step `sbom`, `provenance` and `capture` take
 * with `--include-attached`: find the attachments, read the wanted documents (verified), and read them into
 * one inventory for the formatters.
 *
 * The core modules are imported on use: the other commands, and these without the flag, never load them.
 *
 * @module
 */

import type { AttachedDocument, Attachment, AttachmentSubject, DocumentKind } from "../attachments.ts";
import type { AttachedInventory } from "../formats/attached_sbom.ts";
import type { ResolvedImage } from "../image.ts";
import { formatPlatform } from "../platform.ts";
import { type ImageSource, resolveImage } from "../source.ts";
import type { CommonOptions, RunContext } from "./context.ts";

/** Options of `attachments`. */
export interface AttachmentsCommandOptions extends CommonOptions {
  artifactType?: string;
}

/** What the `--include-attached` step gives the formatters (and `capture` its files). */
export interface AttachedResult {
  /** The documents read, verified, in discovery order. */
  documents: AttachedDocument[];
  inventory: AttachedInventory;
}

/** Documents `sbom` and `capture` read: SBOMs to merge, provenance to record. */
export const SBOM_DOCUMENTS: ReadonlySet<DocumentKind> = new Set(["sbom", "provenance"]);
/** Documents `provenance` reads. */
export const PROVENANCE_DOCUMENTS: ReadonlySet<DocumentKind> = new Set(["provenance"]);

/**
 * Start loading the code of the lookups ({@link findAttached}): call once the image's first request is on the
 * wire, so that it is there when the platform manifest is. A failed load is reported where the module is
 * used, which imports it again.
 *
 * @example
 * ```ts
 * preloadLookups();
 * const image = await resolveImage(source, { ...ctx, onManifest });
 * ```
 */
export function preloadLookups(): void {
  import("../attachments.ts").catch(() => {});
}

/**
 * Start loading the code that reads the attached documents of the kinds in `want` (and, when SBOMs are wanted,
 * the SBOM writer's part for them): call once the lookups are on the wire, as the documents come only after
 * more round trips. A failed load is reported where the module is used, which imports it again.
 *
 * @example
 * ```ts
 * finding = findAttached(ctx, source, subject, { want: SBOM_DOCUMENTS });
 * preloadAttached(SBOM_DOCUMENTS);
 * ```
 */
export function preloadAttached(want: ReadonlySet<DocumentKind>): void {
  const loads: Promise<unknown>[] = [import("../formats/attached_sbom.ts")];
  if (want.has("sbom")) loads.push(import("../formats/cyclonedx_attached.ts"));
  Promise.all(loads).catch(() => {});
}

/** Lookups for attachments under way (see {@link findAttached}). */
export interface Finding {
  attachments: Promise<Attachment[]>;
  /** Settles when the lookups have ended, whichever way; never rejects. */
  settled: Promise<void>;
}

/**
 * Start looking for what is attached to `subject` (the platform manifest and its index), before the image's
 * config has been read: everything, or (`filter.want`) only where documents of those kinds can be, or
 * (`filter.artifactType`) only that type. The failure of a lookup is reported where its result is used
 * ({@link readAttached}).
 *
 * @example
 * ```ts
 * const onManifest = (s: AttachmentSubject) => finding = findAttached(ctx, source, s, { want: SBOM_DOCUMENTS });
 * const image = await resolveImage(source, { ...ctx, onManifest });
 * const { inventory } = await readAttached(ctx, source, image, SBOM_DOCUMENTS, finding);
 * ```
 */
export function findAttached(
  ctx: RunContext,
  source: ImageSource,
  subject: AttachmentSubject,
  filter: { artifactType?: string; want?: ReadonlySet<DocumentKind> } = {},
): Finding {
  const attachments = import("../attachments.ts").then((m) =>
    m.findAttachments(source, subject, {
      ...(filter.artifactType !== undefined ? { artifactType: filter.artifactType } : {}),
      ...(filter.want ? { documents: filter.want } : {}),
      log: ctx.log,
    })
  );
  const settled = attachments.then(() => {}, () => {});
  return { attachments, settled };
}

/**
 * Find what is attached to `image` (or take what `finding` found), read the documents of the kinds in `want`,
 * and read them into an inventory. Attachments left out (another subject, not JSON, not an SBOM) are told on
 * the debug log.
 *
 * @example
 * ```ts
 * const { inventory } = await readAttached(ctx, source, image, SBOM_DOCUMENTS);
 * ```
 */
export async function readAttached(
  ctx: RunContext,
  source: ImageSource,
  image: ResolvedImage,
  want: ReadonlySet<DocumentKind>,
  finding: Finding = findAttached(ctx, source, image, { want }),
): Promise<AttachedResult> {
  const [{ loadAttachedDocuments }, { attachedInventory }] = await Promise.all([
    import("../attachments.ts"),
    import("../formats/attached_sbom.ts"),
  ]);
  const log = ctx.log;
  const attachments = await finding.attachments;
  const documents = await loadAttachedDocuments(source, image, attachments, { want, log });
  const inventory = attachedInventory(documents);
  for (const note of inventory.notes) log?.(`attachments: ${note}`);
  log?.(
    `attachments: ${attachments.length} found; ${inventory.sboms.length} SBOM(s) with ` +
      `${inventory.packages.length} distinct packages, ` +
      `${inventory.provenance.length} provenance statement(s)`,
  );
  return { documents, inventory };
}

/** One attachment as `attachments` prints it. */
function listed(a: Attachment): Record<string, unknown> {
  const predicateTypes = [...new Set(a.layers.map((l) => l.predicateType).filter((t) => t !== undefined))];
  const out: Record<string, unknown> = {
    foundVia: a.foundVia,
    subject: a.subject,
    manifestDigest: a.manifest.digest,
    mediaType: a.manifest.mediaType,
    size: a.manifest.bytes.byteLength,
    artifactType: a.artifactType,
  };
  if (predicateTypes.length === 1) out.predicateType = predicateTypes[0];
  if (a.tag !== undefined) out.tag = a.tag;
  out.annotations = a.annotations;
  out.documents = a.layers.map((l) => {
    const d: Record<string, unknown> = {
      digest: l.descriptor.digest,
      mediaType: l.descriptor.mediaType,
      size: l.descriptor.size,
    };
    if (l.predicateType !== undefined) d.predicateType = l.predicateType;
    if (l.descriptor.annotations) d.annotations = l.descriptor.annotations;
    return d;
  });
  return out;
}

/**
 * The JSON `attachments` prints: the image (reference, digests, platform), then each attachment: where it
 * was found, its manifest (digest, media type, size), artifact type, predicate type (when its documents
 * announce one), tag, annotations, and its documents (layers) by digest, media type, size and predicate type.
 *
 * @example
 * ```ts
 * const text = new TextDecoder().decode(attachmentListing(image, await findAttachments(source, image)));
 * ```
 */
export function attachmentListing(image: ResolvedImage, attachments: readonly Attachment[]): Uint8Array {
  const about: Record<string, unknown> = {
    reference: image.origin.input,
    manifestDigest: image.manifest.digest,
  };
  if (image.index) about.indexDigest = image.index.digest;
  about.platform = formatPlatform(image.platform);
  const body = { image: about, attachments: attachments.map(listed) };
  return new TextEncoder().encode(`${JSON.stringify(body, null, 2)}\n`);
}

/** Run attachments. */
export async function attachmentsCommand(ctx: RunContext, opts: AttachmentsCommandOptions): Promise<void> {
  await using source = await ctx.openSource();
  import("../attachments.ts").catch(() => {}); // loads while the manifest is on the wire; used by findAttached
  // The lookups go out as soon as the platform manifest is known, while its config is on the wire.
  let finding: Finding | undefined;
  const onManifest = (subject: AttachmentSubject) => {
    finding = findAttached(ctx, source, subject, { artifactType: opts.artifactType });
  };
  let image: ResolvedImage;
  try {
    image = await resolveImage(source, { ...ctx, onManifest });
  } catch (err) {
    await finding?.settled; // the lookups end before the run does
    throw err;
  }
  await ctx.emit(attachmentListing(image, await finding!.attachments));
}
