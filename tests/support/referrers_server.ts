/**
 * A small registry on 127.0.0.1 that implements the OCI 1.1 referrers API, which Debian's Distribution 2.8
 * does not: `GET /v2/<name>/referrers/<digest>` answers an OCI image index of the manifests it holds whose
 * `subject` is that digest (distribution-spec "Listing Referrers": `artifactType` from the manifest, else its
 * config's media type; the manifest's annotations), filters on `?artifactType=` with `OCI-Filters-Applied:
 * artifactType`, and pages with `Link: <...>; rel="next"` when asked to. Content goes in through the same
 * push API the real registry has (monolithic blob upload, manifest PUT), so the helpers of push.ts and
 * images.ts work against it unchanged.
 *
 * Knobs for failure tests: `applyFilter` (answer unfiltered, without the header), `pageSize`, and `tamper`
 * (serve other bytes for a blob digest).
 *
 * @module
 */

import { sha256Digest } from "./push.ts";

/** One request it served. */
export interface ServedRequest {
  method: string;
  path: string;
  search: string;
  status: number;
}

/** A running referrers server. */
export interface ReferrersServer extends AsyncDisposable {
  /** `127.0.0.1:PORT`. */
  host: string;
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** Requests served so far, oldest first. */
  requests(): ServedRequest[];
  clearRequests(): void;
  /** Apply `?artifactType=` (default true); false answers the whole list without `OCI-Filters-Applied`. */
  applyFilter: boolean;
  /** Descriptors per referrers page (default: all in one). */
  pageSize?: number;
  /** Blob digest -> the bytes served instead (a tampering proxy). */
  tamper: Map<string, Uint8Array>;
  stop(): Promise<void>;
}

interface Stored {
  bytes: Uint8Array;
  mediaType: string;
}

const INDEX = "application/vnd.oci.image.index.v1+json";
const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
const notFound = (code: string) => json({ errors: [{ code, message: code.toLowerCase() }] }, 404);

/** Start the server (see the module notes). */
export function startReferrersServer(): ReferrersServer {
  const blobs = new Map<string, Map<string, Uint8Array>>();
  const manifests = new Map<string, Map<string, Stored>>();
  const tags = new Map<string, Map<string, string>>();
  const uploads = new Map<string, { repo: string }>();
  const served: ServedRequest[] = [];
  const repoMap = <T>(m: Map<string, Map<string, T>>, repo: string) => {
    let r = m.get(repo);
    if (!r) m.set(repo, r = new Map());
    return r;
  };

  function referrers(repo: string, digest: string, url: URL, state: ReferrersServer): Response {
    const list: Record<string, unknown>[] = [];
    for (const [d, m] of repoMap(manifests, repo)) {
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(new TextDecoder().decode(m.bytes));
      } catch {
        continue;
      }
      const subject = body.subject as { digest?: string } | undefined;
      if (subject?.digest !== digest) continue;
      const config = body.config as { mediaType?: string } | undefined;
      const artifactType = (body.artifactType as string | undefined) ?? config?.mediaType;
      list.push({
        mediaType: m.mediaType,
        digest: d,
        size: m.bytes.length,
        ...(artifactType ? { artifactType } : {}),
        ...(body.annotations ? { annotations: body.annotations } : {}),
      });
    }
    const headers: Record<string, string> = { "content-type": INDEX };
    const wanted = url.searchParams.get("artifactType");
    let shown = list;
    if (wanted !== null && state.applyFilter) {
      shown = list.filter((d) => d.artifactType === wanted);
      headers["oci-filters-applied"] = "artifactType";
    }
    const page = Number(url.searchParams.get("page") ?? "0");
    if (state.pageSize) {
      const start = page * state.pageSize;
      if (start + state.pageSize < shown.length) {
        const next = new URL(url.pathname, url.origin);
        if (wanted !== null) next.searchParams.set("artifactType", wanted);
        next.searchParams.set("page", String(page + 1));
        headers.link = `<${next.pathname}${next.search}>; rel="next"`;
      }
      shown = shown.slice(start, start + state.pageSize);
    }
    return new Response(JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: shown }), {
      headers,
    });
  }

  async function handle(req: Request, state: ReferrersServer): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname === "/v2/" || url.pathname === "/v2") return json({});
    const upload = /^\/v2\/(.+)\/blobs\/uploads\/([^/]*)$/.exec(url.pathname);
    if (upload && req.method === "POST") {
      const id = crypto.randomUUID();
      uploads.set(id, { repo: upload[1] });
      return new Response(null, {
        status: 202,
        headers: { location: `/v2/${upload[1]}/blobs/uploads/${id}` },
      });
    }
    if (upload && req.method === "PUT") {
      const bytes = new Uint8Array(await req.arrayBuffer());
      const digest = sha256Digest(bytes);
      if (url.searchParams.get("digest") !== digest || !uploads.delete(upload[2])) {
        return json({ errors: [{ code: "DIGEST_INVALID" }] }, 400);
      }
      repoMap(blobs, upload[1]).set(digest, bytes);
      return new Response(null, { status: 201, headers: { "docker-content-digest": digest } });
    }
    const m = /^\/v2\/(.+)\/(manifests|blobs|referrers)\/([^/]+)$/.exec(url.pathname);
    if (!m) return new Response("404 page not found\n", { status: 404 });
    const [, repo, kind, ref] = m;
    if (kind === "manifests" && req.method === "PUT") {
      const bytes = new Uint8Array(await req.arrayBuffer());
      const digest = sha256Digest(bytes);
      repoMap(manifests, repo).set(digest, { bytes, mediaType: req.headers.get("content-type") ?? "" });
      if (!ref.startsWith("sha256:")) repoMap(tags, repo).set(ref, digest);
      return new Response(null, { status: 201, headers: { "docker-content-digest": digest } });
    }
    if (req.method !== "GET" && req.method !== "HEAD") return new Response(null, { status: 405 });
    if (kind === "referrers") return referrers(repo, ref, url, state);
    if (kind === "blobs") {
      const bytes = state.tamper.get(ref) ?? repoMap(blobs, repo).get(ref);
      if (!bytes) return notFound("BLOB_UNKNOWN");
      return new Response(bytes as Uint8Array<ArrayBuffer>, {
        headers: { "content-type": "application/octet-stream", "docker-content-digest": ref },
      });
    }
    const digest = ref.startsWith("sha256:") ? ref : repoMap(tags, repo).get(ref);
    const stored = digest ? repoMap(manifests, repo).get(digest) : undefined;
    if (!digest || !stored) return notFound("MANIFEST_UNKNOWN");
    return new Response(stored.bytes as Uint8Array<ArrayBuffer>, {
      headers: { "content-type": stored.mediaType, "docker-content-digest": digest },
    });
  }

  const state = {} as ReferrersServer;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const res = await handle(req, state);
    served.push({ method: req.method, path: url.pathname, search: url.search, status: res.status });
    return res;
  });
  const host = `127.0.0.1:${server.addr.port}`;
  let stopping: Promise<void> | undefined;
  Object.assign(state, {
    host,
    url: `http://${host}`,
    requests: () => [...served],
    clearRequests: () => void served.splice(0),
    applyFilter: true,
    tamper: new Map<string, Uint8Array>(),
    stop: () => stopping ??= server.shutdown(),
    [Symbol.asyncDispose]: () => state.stop(),
  });
  return state;
}
