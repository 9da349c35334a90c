/**
 * The floors the tool is measured against: the same requests with nothing else (no option parsing, no digest
 * or size verification, no error handling, no auth). By default: GET the manifest with the tool's Accept
 * header, GET the config blob it names, write the blob to stdout (the floor of `get_digest_metadata` and
 * `sbom`). With `--manifest-only`: GET the manifest and write it (the floor of `get_manifest`).
 *
 * ```sh
 * deno run -A bench/minimal.ts http://127.0.0.1:5000 test/original latest
 * deno run -A bench/minimal.ts http://127.0.0.1:5000 test/original latest --manifest-only
 * ```
 *
 * @module
 */

const ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

/** GET the manifest with the tool's Accept header; its bytes. */
export async function fetchManifest(
  base: string,
  repository: string,
  reference: string,
): Promise<Uint8Array> {
  return await (await fetch(`${base}/v2/${repository}/manifests/${reference}`, {
    headers: { accept: ACCEPT },
  }))
    .bytes();
}

/** Write all of `bytes` to stdout. */
export async function writeStdout(bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await Deno.stdout.write(bytes.subarray(off));
}

if (import.meta.main) {
  const [base, repository, reference, mode] = Deno.args;
  if (!base || !repository || !reference) {
    console.error("usage: minimal.ts BASE_URL REPOSITORY TAG|DIGEST [--manifest-only]");
    Deno.exit(2);
  }
  const manifest = await fetchManifest(base, repository, reference);
  await writeStdout(
    mode === "--manifest-only" ? manifest : await (await fetch(
      `${base}/v2/${repository}/blobs/${JSON.parse(new TextDecoder().decode(manifest)).config.digest}`,
    )).bytes(),
  );
}
