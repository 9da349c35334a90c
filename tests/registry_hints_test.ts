/**
 * Errors that say what is wrong when a registry and the command line disagree about TLS: plain HTTP against a
 * TLS registry (the real Distribution registry), and a self-signed CA certificate used as the server's own
 * certificate (openssl's default for `req -x509`), passed with --ca-file.
 */

import assert from "node:assert/strict";
import { cli } from "./support/cli.ts";
import { seedImages } from "./support/images.ts";
import { startRegistry } from "./support/registry.ts";
import { run } from "./support/tools.ts";

function oneLine(stderr: string): string {
  const lines = stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, stderr);
  return lines[0];
}

Deno.test("--plain-http against a TLS registry: the registry speaks TLS, leave out --plain-http", async () => {
  await using reg = await startRegistry({ auth: "basic" });
  const catalog = await seedImages(reg);
  const r = await cli(["get_manifest", "-u", `${reg.host}/${catalog.oci.reference}`, "--plain-http"]);
  assert.equal(r.code, 1);
  assert.match(
    oneLine(r.stderr),
    /speaks TLS \(HTTPS\), but the request was plain HTTP; the registry speaks TLS: leave out --plain-http/,
  );
});

Deno.test("a CA certificate used as the server certificate is named as such", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await run("openssl", [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-days",
      "2",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      `${dir}/key.pem`,
      "-out",
      `${dir}/cert.pem`,
    ], { check: true });
    const text = new TextDecoder().decode(
      (await run("openssl", ["x509", "-in", `${dir}/cert.pem`, "-noout", "-text"], { check: true })).stdout,
    );
    assert.match(text, /CA:TRUE/, "openssl's default self-signed certificate is a CA certificate");
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      cert: await Deno.readTextFile(`${dir}/cert.pem`),
      key: await Deno.readTextFile(`${dir}/key.pem`),
      onListen: () => {},
      onError: () => new Response("no", { status: 500 }),
    }, () => new Response("{}"));
    try {
      const port = (server.addr as Deno.NetAddr).port;
      const r = await cli(["get_manifest", "-u", `127.0.0.1:${port}/x:1`, "--ca-file", `${dir}/cert.pem`]);
      assert.equal(r.code, 1);
      assert.match(
        oneLine(r.stderr),
        /the server's certificate is a CA certificate \(basicConstraints CA:TRUE\) used as a server certificate/,
      );
      assert.match(r.stderr, /give the registry a leaf certificate signed by that CA/);
    } finally {
      await server.shutdown();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
