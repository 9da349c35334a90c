/**
 * Hostile servers for attack tests: tiny HTTP servers on loopback that answer whatever the test says, record
 * every request they get, and a minimal image (manifest + config) to serve as a registry would.
 *
 * @example
 * ```ts
 * const image = await fakeImage(new TextEncoder().encode('{"architecture":"amd64","os":"linux"}'));
 * await using reg = startServer((req) => serveImage(req, image));
 * const r = await cli(["get_digest_metadata", "-u", `${reg.host}/app:1`, "--plain-http"]);
 * ```
 *
 * @module
 */

import { sha256Digest } from "./push.ts";

/** One request a hostile server received. */
export interface SeenRequest {
  method: string;
  url: URL;
  headers: Headers;
  body: string;
}

/** A running hostile server; stop it with `await using`. */
export interface HostileServer extends AsyncDisposable {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** `127.0.0.1:PORT`. */
  host: string;
  /** Every request received, oldest first. */
  requests: SeenRequest[];
}

/** Start a server on 127.0.0.1 that records each request (body read as text) and answers with `handler`. */
export function startServer(
  handler: (req: Request, seen: SeenRequest) => Response | Promise<Response>,
): HostileServer {
  const requests: SeenRequest[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const seen = {
      method: req.method,
      url: new URL(req.url),
      headers: req.headers,
      body: req.body ? await req.text() : "",
    };
    requests.push(seen);
    return handler(req, seen);
  });
  const host = `127.0.0.1:${server.addr.port}`;
  return {
    url: `http://${host}`,
    host,
    requests,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** A single-platform OCI image: manifest bytes and the config it names. */
export interface FakeImage {
  manifest: Uint8Array<ArrayBuffer>;
  manifestDigest: string;
  config: Uint8Array<ArrayBuffer>;
  configDigest: string;
  configMediaType: string;
}

/** The OCI manifest media type. */
export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";

/** An image whose config is `config` (any bytes), described by a manifest with a matching digest and size. */
export function fakeImage(
  config: Uint8Array<ArrayBuffer> | string,
  configMediaType = "application/vnd.oci.image.config.v1+json",
): FakeImage {
  const bytes = typeof config === "string" ? new TextEncoder().encode(config) : config;
  const configDigest = sha256Digest(bytes);
  const manifest = new TextEncoder().encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: configMediaType, digest: configDigest, size: bytes.byteLength },
    layers: [],
  }));
  return { manifest, manifestDigest: sha256Digest(manifest), config: bytes, configDigest, configMediaType };
}

/** A plain linux/amd64 config. */
export const PLAIN_CONFIG = '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}';

/**
 * Answer `req` as a registry holding `image` in every repository: its manifest for any tag, its config blob;
 * 404 for anything else. `blob` replaces the config answer (a redirect, a challenge).
 */
export function serveImage(
  req: Request,
  image: FakeImage,
  opts: { blob?: () => Response } = {},
): Response {
  const path = new URL(req.url).pathname;
  if (/^\/v2\/.+\/manifests\/[^/]+$/.test(path)) {
    return new Response(image.manifest, {
      headers: { "content-type": OCI_MANIFEST, "docker-content-digest": image.manifestDigest },
    });
  }
  if (path.endsWith(`/blobs/${image.configDigest}`)) {
    return opts.blob?.() ??
      new Response(image.config, { headers: { "content-type": image.configMediaType } });
  }
  return Response.json({ errors: [{ code: "NOT_FOUND", message: "not here" }] }, { status: 404 });
}

/** A docker config directory whose `auths` holds `entry` for `host`; removed by `await using`. */
export async function dockerConfigDir(
  host: string,
  entry: Record<string, string>,
  extra: Record<string, unknown> = {},
): Promise<AsyncDisposable & { dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "hostile-docker-config-" });
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({ auths: { [host]: entry }, ...extra }));
  return { dir, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

/**
 * What a raw hostile server does with each connection once the request head is in: `hold` never answers;
 * `endless` answers `200` with no length and streams a body that never ends, until the client hangs up; bytes
 * are sent as they are (headers Deno.serve would refuse to send), then the connection is closed.
 */
export type RawBehaviour = "hold" | "endless" | Uint8Array;

/**
 * A raw TCP server on 127.0.0.1 for attacks a well-behaved HTTP server cannot make (see
 * {@link RawBehaviour}). `connections` counts the connections it took.
 */
export function startRawServer(
  behaviour: RawBehaviour,
): AsyncDisposable & { url: string; host: string; connections: () => number } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  let count = 0;
  const serve = async (conn: Deno.Conn) => {
    conns.add(conn);
    const buf = new Uint8Array(64 * 1024);
    try {
      // The request head (and any small body) arrives in the first read or two.
      await conn.read(buf);
      if (behaviour === "hold") {
        while ((await conn.read(buf)) !== null) {
          // keep reading, never answer
        }
        return;
      }
      if (behaviour instanceof Uint8Array) {
        for (let off = 0; off < behaviour.byteLength;) off += await conn.write(behaviour.subarray(off));
        return;
      }
      const enc = new TextEncoder();
      await conn.write(
        enc.encode("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n"),
      );
      const chunk = enc.encode(`{"AccessKeyId":"${"A".repeat(64 * 1024)}`);
      for (;;) await conn.write(chunk);
    } catch {
      // the client hung up
    } finally {
      conns.delete(conn);
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  };
  const loop = (async () => {
    try {
      for await (const conn of listener) {
        count++;
        serve(conn);
      }
    } catch {
      // closed
    }
  })();
  const host = `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
  return {
    url: `http://${host}`,
    host,
    connections: () => count,
    [Symbol.asyncDispose]: async () => {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // already closed
        }
      }
      await loop;
    },
  };
}
