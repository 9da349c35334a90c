/**
 * `provenance`: an in-toto Statement with SLSA provenance naming the image (by digest) as a build dependency
 * of the `--subject` files, bare or (`--sign`) as a signed DSSE envelope.
 *
 * @module
 */

import { builderIdFor, type CodeBuildContext, isCodeBuild } from "../ci/codebuild.ts";
import { UsageError } from "../errors.ts";
import type { CommonOptions, RunContext } from "./context.ts";
import { PROVENANCE_DOCUMENTS } from "./attachments.ts";
import { describeImage } from "./describe.ts";
import { envelope, signerFor } from "./sign.ts";

/** Options of `provenance`. */
export interface ProvenanceCommandOptions extends CommonOptions {
  subject?: string[];
  format?: "slsa-v1" | "slsa-v0.2" | "descriptor";
  builderId?: string;
  sign?: string;
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

/** Throw the usage error for a statement outside CodeBuild without `--builder-id`, before any request. */
export function requireBuilder(codebuild: CodeBuildContext, builderId: string | undefined): void {
  if (builderIdFor(codebuild, builderId)) return;
  if (isCodeBuild(codebuild)) {
    throw new UsageError(
      "provenance needs a builder id, and this CodeBuild build does not name its project " +
        "(neither CODEBUILD_BUILD_ARN nor CODEBUILD_PROJECT_ARN is set)",
      { hint: "pass --builder-id URI (the project ARN)" },
    );
  }
  throw new UsageError("provenance outside CodeBuild needs --builder-id URI: who ran the build", {
    advice: "builder-id",
  });
}

/** Run provenance. */
export async function provenanceCommand(ctx: RunContext, opts: ProvenanceCommandOptions): Promise<void> {
  const format = opts.format ?? "slsa-v1";
  requireSubjects(format, opts.subject);
  const codebuild = ctx.codebuild();
  const clock = ctx.clock();
  if (format !== "descriptor") requireBuilder(codebuild, opts.builderId);
  if (opts.sign && format === "descriptor") {
    throw new UsageError(
      "--sign signs statements; a descriptor is not one (use --format slsa-v1 or slsa-v0.2)",
    );
  }
  if (format !== "descriptor") await ctx.refuseOutputAsSubject(opts.subject);
  const signer = opts.sign ? await signerFor(opts.sign, ctx) : undefined;
  const { hashSubjects } = await import("../subjects.ts");
  // Hash the (possibly many-GB) subjects while the registry answers.
  // With --include-attached, the image's own provenance is named on its resolvedDependencies entry.
  const [{ image, attached, loaded: { provenance } }, subjects] = await Promise.all([
    describeImage(
      ctx,
      opts.includeAttached ? PROVENANCE_DOCUMENTS : undefined,
      () => import("../formats/slsa.ts"),
    ),
    format === "descriptor" ? Promise.resolve([]) : hashSubjects((opts.subject ?? []).map(ctx.resolve)),
  ]);
  const statement = await provenance(image, {
    format,
    subjects,
    builderId: opts.builderId,
    codebuild,
    clock,
    ...(attached ? { attachedProvenance: attached.inventory.provenance } : {}),
  });
  await ctx.emit(signer ? await envelope(statement, signer) : statement);
}
