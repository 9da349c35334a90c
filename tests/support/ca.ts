/**
 * A throw-away test certificate authority made with openssl (EC P-256, valid for two days).
 *
 * @module
 */

import { requireBinary, run } from "./tools.ts";

/** Files written by {@linkcode makeTestCA}. */
export interface TestCA {
  /** PEM CA certificate (trust anchor for clients). */
  caCert: string;
  /** PEM CA private key. */
  caKey: string;
  /** PEM server certificate for `IP:127.0.0.1` and `DNS:localhost`, signed by the CA. */
  serverCert: string;
  /** PEM (PKCS#8) server private key. */
  serverKey: string;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  await run("openssl", args, { cwd: dir, check: true, env: { OPENSSL_CONF: "/dev/null" } });
}

/**
 * Create a CA key+cert and a server key+cert (SAN `IP:127.0.0.1`, `DNS:localhost`) signed by it in `dir`.
 * Returns absolute paths.
 */
export async function makeTestCA(dir: string): Promise<TestCA> {
  requireBinary("openssl");
  dir = await Deno.realPath(dir);
  const curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  await openssl(dir, [
    "req",
    "-x509",
    ...curve,
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "2",
    "-subj",
    "/CN=ecrimagemetadataextractor test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
    "-addext",
    "subjectKeyIdentifier=hash",
  ]);
  await openssl(dir, [
    "req",
    ...curve,
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/CN=localhost",
  ]);
  await Deno.writeTextFile(
    `${dir}/server.ext`,
    [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature",
      "extendedKeyUsage=serverAuth",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "subjectKeyIdentifier=hash",
      "authorityKeyIdentifier=keyid",
      "",
    ].join("\n"),
  );
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.crt",
    "-days",
    "2",
    "-extfile",
    "server.ext",
  ]);
  return {
    caCert: `${dir}/ca.crt`,
    caKey: `${dir}/ca.key`,
    serverCert: `${dir}/server.crt`,
    serverKey: `${dir}/server.key`,
  };
}

/**
 * A self-signed EC P-256 certificate + PKCS#8 key in `dir` (files `<name>.crt`, `<name>.key`), e.g. for signing
 * registry tokens. Returns absolute paths.
 */
export async function makeSelfSigned(dir: string, name: string): Promise<{ cert: string; key: string }> {
  dir = await Deno.realPath(dir);
  await openssl(dir, [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.crt`,
    "-days",
    "2",
    "-subj",
    `/CN=${name}`,
  ]);
  return { cert: `${dir}/${name}.crt`, key: `${dir}/${name}.key` };
}
