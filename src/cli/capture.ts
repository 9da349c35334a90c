/**
 * `capture`: one registry round of requests, all files: the manifest (and index), the config, the SBOM, the
 * image's ResourceDescriptor and, with `--subject`, the provenance, written together atomically to
 * `--output-dir`.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import { checkDirectory, type OutputFile, writeFilesAtomic } from "../output.ts";
import { resolveImage } from "../source.ts";
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
  const [image, subjects] = await Promise.all([
    resolveImage(source, ctx),
    hashSubjects((opts.subject ?? []).map(ctx.resolve)),
  ]);
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
    }),
  );
  const common = { subjects, builderId: opts.builderId, codebuild };
  add(CAPTURE_FILES.descriptor, await provenance(image, { ...common, format: "descriptor" }));
  if (subjects.length) {
    add(
      CAPTURE_FILES.provenance,
      await provenance(image, { ...common, format: opts.provenanceFormat ?? "slsa-v1" }),
    );
  }
  // Files of an earlier capture that this one does not write (an index.json from a multi-arch image, a
  // provenance from a run with --subject, the other SBOM format) would describe another image: drop them.
  const written = new Set(files.map((f) => f.name));
  const stale = Object.values(CAPTURE_FILES).filter((n) => !written.has(n)).map(at);
  await writeFilesAtomic(files, stale);
  return files.map((f) => shown(f.name));
}
