/**
 * `capture`: one registry round of requests, all files: the manifest (and index), the config, the SBOM, the
 * image's ResourceDescriptor and, with `--subject`, the provenance, written together atomically to
 * `--output-dir` under a name prefix (`--prefix`, default `build-env`).
 *
 * capture writes only what it owns: it keeps a record (`<prefix>.capture.json`) of the files it wrote, and a
 * later run replaces or removes only files in that record whose content is still what it wrote. Any other file
 * in its way stops the run before any request (see `src/ownership.ts`).
 *
 * With `--include-attached`, the SBOM and provenance also carry the image's own attached SBOMs and provenance,
 * and those documents are written too, byte for byte as served, to `<prefix>.attached/<digest hex>.json`, in the
 * same all-or-nothing step and the same record.
 *
 * @module
 */

import { digestOf, parseDigest } from "../digest.ts";
import { OutputError, UsageError } from "../errors.ts";
import { isUnresolved } from "../image.ts";
import { checkDirectory, type OutputFile, writeFilesAtomic } from "../output.ts";
import { claim, nextRecord } from "../ownership.ts";
import type { RunContext } from "./context.ts";
import { SBOM_DOCUMENTS } from "./attachments.ts";
import { describeImage } from "./describe.ts";
import { refuseSubjectsAmongOutputs } from "./outputs.ts";
import { requireBuilder } from "./provenance.ts";
import type { SbomCommandOptions } from "./sbom.ts";
import { envelope, signerFor } from "./sign.ts";

/** Options of `capture`. */
export interface CaptureOptions extends SbomCommandOptions {
  outputDir?: string;
  prefix?: string;
  subject?: string[];
  builderId?: string;
  provenanceFormat?: "slsa-v1" | "slsa-v0.2";
  sign?: string;
  includeAttached?: boolean;
}

/** The file names `capture` writes, after the prefix: `<prefix>.manifest.json` and so on. */
export const CAPTURE_FILES = {
  index: "index.json",
  manifest: "manifest.json",
  config: "config.json",
  sbomJson: "cdx.json",
  sbomXml: "cdx.xml",
  descriptor: "descriptor.json",
  provenance: "intoto.json",
  /** The provenance signed (`--sign`): a DSSE envelope, one JSON line. */
  envelope: "intoto.jsonl",
  artifactsJson: "artifacts.cdx.json",
  artifactsXml: "artifacts.cdx.xml",
  record: "capture.json",
} as const;

/** The default name prefix. */
export const DEFAULT_PREFIX = "build-env";

/** A prefix is one plain file-name component. */
const PREFIX = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Run capture; returns the paths written (as the user named the directory). */
export async function capture(ctx: RunContext, opts: CaptureOptions): Promise<string[]> {
  const dir = opts.outputDir;
  if (ctx.options.output !== undefined) {
    throw new UsageError(
      "capture writes its files into --output-dir DIR; -o/--output names one document's file",
      {
        hint: "drop -o, or use sbom / provenance -o FILE for one document",
      },
    );
  }
  if (!dir) throw new UsageError("capture needs --output-dir DIR");
  const prefix = opts.prefix ?? DEFAULT_PREFIX;
  if (!PREFIX.test(prefix)) {
    throw new UsageError(
      `invalid --prefix "${prefix.slice(0, 60)}": one file name of letters, digits, . _ -`,
    );
  }
  const clock = ctx.clock();
  const codebuild = ctx.codebuild();
  if (opts.subject?.length) requireBuilder(codebuild, opts.builderId);
  if (opts.sign && !opts.subject?.length) {
    throw new UsageError("--sign signs the provenance, which capture writes only with --subject FILE");
  }
  const nameOf = (file: string) => `${prefix}.${file}`;
  const shown = (name: string) => `${dir.replace(/\/+$/, "")}/${name}`;
  const dirPath = ctx.resolve(dir);
  const at = (name: string) => `${dirPath.replace(/\/+$/, "")}/${name}`;
  const recordName = nameOf(CAPTURE_FILES.record);
  const attachedDir = `${prefix}.attached`;
  const candidates = [...Object.values(CAPTURE_FILES).map(nameOf), `${attachedDir}/`];
  const attachedFile = (name: string) =>
    name.startsWith(`${attachedDir}/`) && /^[0-9a-f]{64,128}\.json$/.test(name.slice(attachedDir.length + 1));

  // Before any request: the directory exists, no subject is one of the outputs, and nothing in the way.
  const dirInfo = await Deno.stat(dirPath).catch(() => undefined);
  if (dirInfo && !dirInfo.isDirectory) {
    throw new OutputError(`--output-dir ${dir} is not a directory`, {
      hint: "name the directory capture writes its files into",
    });
  }
  await checkDirectory(at(recordName));
  const subjects = (opts.subject ?? []).map(ctx.resolve);
  await refuseSubjectsAmongOutputs(
    opts.subject ?? [],
    subjects,
    candidates.map((n) => ({ path: at(n), shown: shown(n) })),
    "a file capture writes",
    "keep the build's outputs apart from capture's, or choose another --prefix",
  );
  const ownership = await claim(dirPath, recordName, candidates, attachedFile);
  const signer = opts.sign ? await signerFor(opts.sign, ctx) : undefined;

  const { hashSubjects } = await import("../subjects.ts");
  // The formatters load while the registry answers.
  const [{ image, attached, loaded }, hashed] = await Promise.all([
    describeImage(
      ctx,
      opts.includeAttached ? SBOM_DOCUMENTS : undefined,
      () => Promise.all([import("../formats/cyclonedx.ts"), import("../formats/slsa.ts")]),
    ),
    hashSubjects(subjects),
  ]);
  const [{ artifactsBom, cyclonedxSbom }, { provenance }] = loaded;
  const xml = opts.format === "cyclonedx-xml";
  const files: { name: string; bytes: Uint8Array }[] = [];
  const add = (file: string, bytes: Uint8Array) => files.push({ name: nameOf(file), bytes });
  if (!isUnresolved(image)) {
    if (image.index) add(CAPTURE_FILES.index, image.index.bytes);
    add(CAPTURE_FILES.manifest, image.manifest.bytes);
    add(CAPTURE_FILES.config, image.config.bytes);
  }
  const sbomOptions = {
    format: xml ? "xml" : "json",
    specVersion: opts.specVersion ?? "1.6",
    includeEnv: opts.includeEnv === true,
    clock,
    ...(attached ? { attached: attached.inventory } : {}),
  } as const;
  const sbomName = nameOf(xml ? CAPTURE_FILES.sbomXml : CAPTURE_FILES.sbomJson);
  add(xml ? CAPTURE_FILES.sbomXml : CAPTURE_FILES.sbomJson, await cyclonedxSbom(image, sbomOptions));
  if (hashed.length) {
    add(
      xml ? CAPTURE_FILES.artifactsXml : CAPTURE_FILES.artifactsJson,
      await artifactsBom(image, {
        ...sbomOptions,
        specVersion: "1.6",
        artifacts: hashed,
        artifactType: opts.subjectType ?? "file",
        codebuild,
      }),
    );
  }
  const common = {
    subjects: hashed,
    builderId: opts.builderId,
    codebuild,
    clock,
    ...(attached ? { attachedProvenance: attached.inventory.provenance } : {}),
  };
  if (!isUnresolved(image)) {
    add(CAPTURE_FILES.descriptor, await provenance(image, { ...common, format: "descriptor" }));
  }
  if (hashed.length) {
    // The documents written beside the statement, by digest: a verifier can check they belong to this run.
    const mediaType = xml ? "application/vnd.cyclonedx+xml" : "application/vnd.cyclonedx+json";
    const byproducts = await Promise.all(
      files.filter((f) => f.name.endsWith(xml ? ".cdx.xml" : ".cdx.json")).map(async (f) => ({
        name: f.name,
        digest: { sha256: (await digestOf(f.bytes)).slice("sha256:".length) },
        mediaType,
      })),
    );
    if (!byproducts.some((b) => b.name === sbomName)) {
      throw new Error("the SBOM must be among the byproducts");
    }
    const statement = await provenance(image, {
      ...common,
      format: opts.provenanceFormat ?? "slsa-v1",
      byproducts,
    });
    if (signer) add(CAPTURE_FILES.envelope, await envelope(statement, signer));
    else add(CAPTURE_FILES.provenance, statement);
  }
  for (const doc of attached?.documents ?? []) {
    files.push({ name: `${attachedDir}/${parseDigest(doc.digest).hex}.json`, bytes: doc.bytes });
  }
  const record = await nextRecord(ownership, files);
  // Checked again just before writing: a file may have appeared in the way while the registry answered.
  await claim(dirPath, recordName, candidates, attachedFile);
  const out: OutputFile[] = [
    ...files.map((f) => ({ path: at(f.name), bytes: f.bytes })),
    { path: at(recordName), bytes: record.bytes },
  ];
  const writesAttached = files.some((f) => attachedFile(f.name));
  const hadAttached = Object.keys(ownership.recorded).some(attachedFile);
  if (writesAttached) await Deno.mkdir(at(attachedDir), { recursive: true });
  try {
    // The record first accepts both what is there and what is coming: a run killed while the files are
    // renamed into place leaves nothing that stops the next one.
    await writeFilesAtomic([{ path: at(recordName), bytes: record.pending }]);
    await writeFilesAtomic(out, record.stale.map(at));
  } finally {
    // The directory is capture's own (it made it for the files it recorded there): not left behind empty.
    if (writesAttached || hadAttached) await Deno.remove(at(attachedDir)).catch(() => {});
  }
  return [...files.map((f) => shown(f.name)), shown(recordName)];
}
