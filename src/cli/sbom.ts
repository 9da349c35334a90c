/**
 * `sbom`: a CycloneDX SBOM whose `metadata.component` is the image; or the image's component alone
 * (`--format cyclonedx-component`); or, with `--subject`, the BOM of the artifacts built in the image, which
 * records the image in its formulation.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import type { CommonOptions, RunContext } from "./context.ts";
import { SBOM_DOCUMENTS } from "./attachments.ts";
import { describeImage } from "./describe.ts";
import type { SUBJECT_TYPES } from "./options.ts";

/** Options of `sbom`. */
export interface SbomCommandOptions extends CommonOptions {
  format?: "cyclonedx-json" | "cyclonedx-xml" | "cyclonedx-component";
  specVersion?: "1.6" | "1.5";
  includeEnv?: boolean;
  subject?: string[];
  subjectType?: (typeof SUBJECT_TYPES)[number];
  includeAttached?: boolean;
}

/**
 * Run sbom. The formatter is loaded while the registry answers: the requests go out first, and the load's
 * promise is awaited only once the image is in.
 */
export async function sbom(ctx: RunContext, opts: SbomCommandOptions): Promise<void> {
  const clock = ctx.clock();
  const format = opts.format ?? "cyclonedx-json";
  const artifacts = opts.subject ?? [];
  if (artifacts.length && format === "cyclonedx-component") {
    throw new UsageError(
      "--subject writes the artifacts' BOM; --format cyclonedx-component is the image alone",
    );
  }
  if (artifacts.length && opts.specVersion === "1.5") {
    throw new UsageError("the artifacts' BOM (--subject) is written in CycloneDX 1.6 (its formulation)");
  }
  await ctx.refuseOutputAsSubject(artifacts);
  const codebuild = artifacts.length ? ctx.codebuild() : undefined;
  const hashing = artifacts.length
    ? import("../subjects.ts").then((m) => m.hashSubjects(artifacts.map(ctx.resolve)))
    : Promise.resolve([]);
  // With --include-attached, the image's own SBOMs and provenance are merged in; without, nothing more is read.
  // The formatter loads while the registry answers.
  const [{ image, attached, loaded: cdx }, subjects] = await Promise.all([
    describeImage(
      ctx,
      opts.includeAttached ? SBOM_DOCUMENTS : undefined,
      () => import("../formats/cyclonedx.ts"),
    ),
    hashing,
  ]);
  const common = {
    specVersion: opts.specVersion ?? "1.6",
    includeEnv: opts.includeEnv === true,
    clock,
    ...(attached ? { attached: attached.inventory } : {}),
  } as const;
  if (format === "cyclonedx-component") {
    await ctx.emit(await cdx.cyclonedxComponent(image, common));
    return;
  }
  const xml = format === "cyclonedx-xml";
  // An SBOM with thousands of attached packages is written as it is made, never all of it in memory.
  const content = subjects.length
    ? await cdx.artifactsBom(image, {
      ...common,
      format: xml ? "xml" : "json",
      artifacts: subjects,
      artifactType: opts.subjectType ?? "file",
      codebuild,
    })
    : await cdx.cyclonedxSbomContent(image, { ...common, format: xml ? "xml" : "json" });
  await ctx.emit(content);
}
