/**
 * `provenance`: an in-toto Statement with SLSA provenance naming the image (by digest) as a build dependency
 * of the `--subject` files.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import { resolveImage } from "../source.ts";
import type { CommonOptions, RunContext } from "./context.ts";
import { emit } from "./emit.ts";

/** Options of `provenance`. */
export interface ProvenanceCommandOptions extends CommonOptions {
  subject?: string[];
  format?: "slsa-v1" | "slsa-v0.2" | "descriptor";
  builderId?: string;
}

/** Throw the usage error for a statement without subjects, before any network or disk work. */
export function requireSubjects(format: string, subjects: string[] | undefined): void {
  if (format !== "descriptor" && !(subjects?.length)) {
    throw new UsageError(
      `provenance in ${format} needs at least one --subject FILE (the artifacts it describes)`,
      {
        hint: "pass --subject for each built file, or use --format descriptor for the image alone",
      },
    );
  }
}

/** Run provenance. */
export async function provenanceCommand(ctx: RunContext, opts: ProvenanceCommandOptions): Promise<void> {
  const format = opts.format ?? "slsa-v1";
  requireSubjects(format, opts.subject);
  const { hashSubjects } = await import("../subjects.ts");
  const source = await ctx.openSource();
  try {
    // Hash the (possibly many-GB) subjects while the registry answers.
    const [image, subjects] = await Promise.all([
      resolveImage(source, ctx),
      format === "descriptor" ? Promise.resolve([]) : hashSubjects(opts.subject ?? []),
    ]);
    const { provenance } = await import("../formats/slsa.ts");
    const bytes = await provenance(image, { format, subjects, builderId: opts.builderId, env: ctx.env });
    await emit(bytes, ctx.options.output);
  } finally {
    source.close?.();
  }
}
