/**
 * The floor `get_digest_metadata` is measured against: the same two requests with nothing else (no option
 * parsing, no digest or size verification, no error handling, no auth): GET the manifest with the tool's Accept
 * header, GET the config blob it names, write the blob to stdout.
 *
 * ```sh
 * deno run -A bench/minimal.ts http://127.0.0.1:5000 test/original latest
 * ```
 *
 * @module
 */

const [base, repository, reference] = Deno.args;
if (!base || !repository || !reference) {
  console.error("usage: minimal.ts BASE_URL REPOSITORY TAG|DIGEST");
  Deno.exit(2);
}
const accept = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");
const manifest =
  await (await fetch(`${base}/v2/${repository}/manifests/${reference}`, { headers: { accept } }))
    .json();
const config = await (await fetch(`${base}/v2/${repository}/blobs/${manifest.config.digest}`)).bytes();
for (let off = 0; off < config.length;) off += await Deno.stdout.write(config.subarray(off));
