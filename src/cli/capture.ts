/**
 * `capture`: one registry round of requests, all files: the manifest (and index), the config, the SBOM, the
 * image's ResourceDescriptor and, with `--subject`, the provenance, written together atomically to
 * `--output-dir`. With `--include-attached`, the SBOM and provenance also carry the image's own attached
 * SBOMs and provenance, and those documents are written too, byte for byte as served, to
 * `<dir>/build-env.attached/<digest hex>.json`, in the same all-or-nothing step.
 *
 * @module
 */

import { parseDigest } from "../digest.ts";
import { UsageError } from "../errors.ts";
import { checkDirectory, type OutputFile, writeFilesAtomic } from "../output.ts";
import { resolveImage } from "../source.ts";
import { preloadAttached, readAttached, SBOM_DOCUMENTS } from "./attachments.ts";
import type { RunContext } from "./context.ts";
import type { SbomCommandOptions } from "./sbom.ts";

/** Options of `capture`. */
export interface CaptureOptions extends SbomCommandOptions {
  outputDir?: string;
  subject?: string[];
  builderId?: string;
  provenanceFormat?: "slsa-v1" | "slsa-v0.2";
}

/** The file names `capture` writes. */
export const CAPTURE_FILES = {
  index: "index.json",
  manifest: "manifest.json",
  config: "config.json",
  sbomJson: "sbom.cdx.json",
  sbomXml: "sbom.cdx.xml",
  descriptor: "image.descriptor.json",
  provenance: "provenance.intoto.json",
} as const;

/**
 * The directory (inside `--output-dir`) that holds the attached documents, one `<digest hex>.json` each. One
 * constant, so that a file-name prefix option changes it in one place.
 */
export const ATTACHED_DIR = "build-env.attached";
/** The names capture gives attached documents (other files in {@link ATTACHED_DIR} are not its own). */
const ATTACHED_FILE = /^[0-9a-f]{64,128}\.json$/;

/** The attached documents an earlier capture wrote into `dir` (paths), if any. */
async function attachedFilesIn(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) if (e.isFile && ATTACHED_FILE.test(e.name)) out.push(e.name);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory)) throw err;
  }
  return out.sort();
}

/** Run capture; returns the paths written (as the user named the directory). */
export async function capture(ctx: RunContext, opts: CaptureOptions): Promise<string[]> {
  const dir = opts.outputDir;
  if (!dir) throw new UsageError("capture needs --output-dir DIR");
  const clock = ctx.clock();
  const codebuild = ctx.codebuild();
  const shown = (name: string) => `${dir.replace(/\/+$/, "")}/${name}`;
  const at = (name: string) => ctx.resolve(shown(name));
  await checkDirectory(at(CAPTURE_FILES.manifest));
  const { hashSubjects } = await import("../subjects.ts");
  await using source = await ctx.openSource();
  if (opts.includeAttached) preloadAttached();
  const [image, subjects] = await Promise.all([
    resolveImage(source, ctx),
    hashSubjects((opts.subject ?? []).map(ctx.resolve)),
  ]);
  const attached = opts.includeAttached ? await readAttached(ctx, source, image, SBOM_DOCUMENTS) : undefined;
  const [{ cyclonedxSbom }, { provenance }] = await Promise.all([
    import("../formats/cyclonedx.ts"),
    import("../formats/slsa.ts"),
  ]);
  const xml = opts.format === "cyclonedx-xml";
  const files: (OutputFile & { name: string })[] = [];
  const add = (name: string, bytes: Uint8Array) => files.push({ name, path: at(name), bytes });
  if (image.index) add(CAPTURE_FILES.index, image.index.bytes);
  add(CAPTURE_FILES.manifest, image.manifest.bytes);
  add(CAPTURE_FILES.config, image.config.bytes);
  add(
    xml ? CAPTURE_FILES.sbomXml : CAPTURE_FILES.sbomJson,
    await cyclonedxSbom(image, {
      format: xml ? "xml" : "json",
      specVersion: opts.specVersion ?? "1.6",
      includeEnv: opts.includeEnv === true,
      clock,
      ...(attached ? { attached: attached.inventory } : {}),
    }),
  );
  const common = {
    subjects,
    builderId: opts.builderId,
    codebuild,
    ...(attached ? { attachedProvenance: attached.inventory.provenance } : {}),
  };
  add(CAPTURE_FILES.descriptor, await provenance(image, { ...common, format: "descriptor" }));
  if (subjects.length) {
    add(
      CAPTURE_FILES.provenance,
      await provenance(image, { ...common, format: opts.provenanceFormat ?? "slsa-v1" }),
    );
  }
  for (const doc of attached?.documents ?? []) {
    add(`${ATTACHED_DIR}/${parseDigest(doc.digest).hex}.json`, doc.bytes);
  }
  // Files of an earlier capture that this one does not write (an index.json from a multi-arch image, a
  // provenance from a run with --subject, the other SBOM format, another image's attached documents) would
  // describe another image: drop them.
  const written = new Set(files.map((f) => f.name));
  const earlierAttached = (await attachedFilesIn(at(ATTACHED_DIR))).map((n) => `${ATTACHED_DIR}/${n}`);
  const stale = [...Object.values(CAPTURE_FILES), ...earlierAttached].filter((n) => !written.has(n)).map(at);
  const attachedDir = at(ATTACHED_DIR);
  const hadDir = await Deno.stat(attachedDir).then(() => true, () => false);
  if (attached?.documents.length) await Deno.mkdir(attachedDir, { recursive: true });
  try {
    await writeFilesAtomic(files, stale);
  } finally {
    // The directory is the capture's own: not left behind empty (a failed write, or nothing attached now).
    if (!hadDir || earlierAttached.length) await Deno.remove(attachedDir).catch(() => {});
  }
  return files.map((f) => shown(f.name));
}
