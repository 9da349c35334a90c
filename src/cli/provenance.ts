/**
 * `provenance`: an in-toto Statement with SLSA provenance naming the image (by digest) as a build dependency
 * of the `--subject` files.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import { resolveImage } from "../source.ts";
import { PROVENANCE_DOCUMENTS, readAttached } from "./attachments.ts";
import type { CommonOptions, RunContext } from "./context.ts";

/** Options of `provenance`. */
export interface ProvenanceCommandOptions extends CommonOptions {
  subject?: string[];
  format?: "slsa-v1" | "slsa-v0.2" | "descriptor";
  builderId?: string;
  includeAttached?: boolean;
}

/** Throw the usage error for a statement without subjects, before any network or disk work. */
export function requireSubjects(format: string, subjects: readonly string[] | undefined): void {
  if (format !== "descriptor" && !(subjects?.length)) {
    throw new UsageError(
      `provenance in ${format} needs at least one --subject FILE (the artifacts it describes)`,
      {
        advice: "subject",
      },
    );
  }
}

/** Run provenance. */
export async function provenanceCommand(ctx: RunContext, opts: ProvenanceCommandOptions): Promise<void> {
  const format = opts.format ?? "slsa-v1";
  requireSubjects(format, opts.subject);
  const codebuild = ctx.codebuild();
  const { hashSubjects } = await import("../subjects.ts");
  await using source = await ctx.openSource();
  // Hash the (possibly many-GB) subjects while the registry answers.
  const [image, subjects] = await Promise.all([
    resolveImage(source, ctx),
    format === "descriptor" ? Promise.resolve([]) : hashSubjects((opts.subject ?? []).map(ctx.resolve)),
  ]);
  // With --include-attached, the image's own provenance is named on its resolvedDependencies entry.
  const attachedProvenance = opts.includeAttached
    ? (await readAttached(ctx, source, image, PROVENANCE_DOCUMENTS)).inventory.provenance
    : undefined;
  const { provenance } = await import("../formats/slsa.ts");
  await ctx.emit(
    await provenance(image, {
      format,
      subjects,
      builderId: opts.builderId,
      codebuild,
      ...(attachedProvenance ? { attachedProvenance } : {}),
    }),
  );
}
