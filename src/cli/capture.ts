/**
 * `capture`: one registry round of requests, all files: the manifest (and index), the config, the SBOM, the
 * image's ResourceDescriptor and, with `--subject`, the provenance, written together atomically to
 * `--output-dir`.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import { systemClock } from "../formats/clock.ts";
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

/** Run capture; returns the paths written. */
export async function capture(ctx: RunContext, opts: CaptureOptions): Promise<string[]> {
  const dir = opts.outputDir;
  if (!dir) throw new UsageError("capture needs --output-dir DIR");
  const clock = systemClock(ctx.env);
  await checkDirectory(`${dir.replace(/\/+$/, "")}/${CAPTURE_FILES.manifest}`);
  const { hashSubjects } = await import("../subjects.ts");
  const source = await ctx.openSource();
  try {
    const [image, subjects] = await Promise.all([
      resolveImage(source, ctx),
      hashSubjects(opts.subject ?? []),
    ]);
    const [{ cyclonedxSbom }, { provenance }] = await Promise.all([
      import("../formats/cyclonedx.ts"),
      import("../formats/slsa.ts"),
    ]);
    const xml = opts.format === "cyclonedx-xml";
    const files: OutputFile[] = [];
    const at = (name: string) => `${dir.replace(/\/+$/, "")}/${name}`;
    if (image.index) files.push({ path: at(CAPTURE_FILES.index), bytes: image.index.bytes });
    files.push({ path: at(CAPTURE_FILES.manifest), bytes: image.manifest.bytes });
    files.push({ path: at(CAPTURE_FILES.config), bytes: image.config.bytes });
    files.push({
      path: at(xml ? CAPTURE_FILES.sbomXml : CAPTURE_FILES.sbomJson),
      bytes: await cyclonedxSbom(image, {
        format: xml ? "xml" : "json",
        specVersion: opts.specVersion ?? "1.6",
        includeEnv: opts.includeEnv === true,
        clock,
      }),
    });
    const common = { subjects, builderId: opts.builderId, env: ctx.env };
    files.push({
      path: at(CAPTURE_FILES.descriptor),
      bytes: await provenance(image, { ...common, format: "descriptor" }),
    });
    if (subjects.length) {
      files.push({
        path: at(CAPTURE_FILES.provenance),
        bytes: await provenance(image, { ...common, format: opts.provenanceFormat ?? "slsa-v1" }),
      });
    }
    // Files of an earlier capture that this one does not write (an index.json from a multi-arch image, a
    // provenance from a run with --subject, the other SBOM format) would describe another image: drop them.
    const written = new Set(files.map((f) => f.path));
    const stale = Object.values(CAPTURE_FILES).map(at).filter((p) => !written.has(p));
    await writeFilesAtomic(files, stale);
    return files.map((f) => f.path);
  } finally {
    source.close?.();
  }
}
