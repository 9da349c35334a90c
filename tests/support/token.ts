/**
 * A minimal Docker registry token issuer (https://distribution.github.io/distribution/spec/auth/token/) for tests:
 * `GET <realm>?service=..&scope=repository:NAME:pull,push` (scope may repeat; Basic auth optional) and the OAuth2
 * `POST <realm>` password grant. Valid credentials get pull+push on any repository; anonymous callers get pull
 * on repositories whose name starts with `public/` only. Tokens are ES256 JWTs carrying the signing certificate in
 * their `x5c` header, which is how Distribution 2.8 finds the key (the cert must be in its `rootcertbundle`).
 *
 * @module
 */

import { createPrivateKey, type KeyObject, sign } from "node:crypto";

/** One request received by the issuer. */
export interface TokenRequest {
  /** HTTP method (`GET`, or `POST` for the OAuth2 form). */
  method: string;
  /** All requested scopes joined by a space ("" when none). */
  scope: string;
  /** Requested scopes one by one. */
  scopes: string[];
  /** `service` parameter. */
  service: string | null;
  /** Whether valid credentials were presented. */
  authenticated: boolean;
  /** HTTP status answered. */
  status: number;
  /** Access granted, as put into the token. */
  granted: ResourceAccess[];
}

/** One entry of the JWT `access` claim. */
export interface ResourceAccess {
  /** Resource type, e.g. `repository`. */
  type: string;
  /** Resource name, e.g. `test/oci`. */
  name: string;
  /** Granted actions, e.g. `["pull"]`. */
  actions: string[];
}

/** Options of {@linkcode startTokenIssuer}. */
export interface TokenIssuerOptions {
  /** PEM certificate and key for HTTPS; plain HTTP when omitted. */
  tls?: { cert: string; key: string };
  /** PEM self-signed certificate of the signing key (goes into `x5c`). */
  signingCert: string;
  /** PEM (PKCS#8) EC P-256 signing key. */
  signingKey: string;
  /** `service` / JWT `aud`. */
  service: string;
  /** JWT `iss`. */
  issuer: string;
  /** Accepted Basic credentials. */
  username: string;
  /** Accepted Basic credentials. */
  password: string;
  /** Token lifetime in seconds (default 300). */
  expiresIn?: number;
}

/** A running issuer. */
export interface TokenIssuer {
  /** Realm URL to put into the registry config, e.g. `https://127.0.0.1:PORT/token`. */
  realm: string;
  /** Requests received so far. */
  requests(): TokenRequest[];
  /** Forget the recorded requests. */
  clearRequests(): void;
  /** Stop serving. */
  stop(): Promise<void>;
}

function b64url(bytes: Uint8Array | string): string {
  const buf = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  let bin = "";
  for (const b of buf) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Base64 (standard, padded) DER of the first certificate in `pem`, as used in a JWT `x5c` header. */
export function pemToX5c(pem: string): string {
  const m = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(pem);
  if (!m) throw new Error("no certificate in PEM");
  return m[1].replace(/\s+/g, "");
}

/** Sign an ES256 JWT with `key`, putting `x5c` into the header. */
export function signJwt(key: KeyObject, x5c: string, claims: Record<string, unknown>): string {
  const header = { typ: "JWT", alg: "ES256", x5c: [x5c] };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const sig = sign("sha256", new TextEncoder().encode(input), { key, dsaEncoding: "ieee-p1363" });
  return `${input}.${b64url(new Uint8Array(sig))}`;
}

/** Parse `type:name:actions` (name may contain `:`); undefined when malformed. */
function parseScope(scope: string): ResourceAccess | undefined {
  const first = scope.indexOf(":");
  const last = scope.lastIndexOf(":");
  if (first <= 0 || last <= first) return undefined;
  const type = scope.slice(0, first).replace(/\(.*\)$/, "");
  return {
    type,
    name: scope.slice(first + 1, last),
    actions: scope.slice(last + 1).split(",").filter((a) => a !== ""),
  };
}

function grant(scopes: string[], authenticated: boolean): ResourceAccess[] {
  const out: ResourceAccess[] = [];
  for (const s of scopes) {
    const r = parseScope(s);
    if (!r) continue;
    let actions: string[] = [];
    if (r.type === "repository") {
      const allowed = authenticated ? ["pull", "push"] : r.name.startsWith("public/") ? ["pull"] : [];
      actions = r.actions.flatMap((a) => a === "*" ? allowed : allowed.includes(a) ? [a] : []);
    } else if (r.type === "registry" && r.name === "catalog" && authenticated) {
      actions = r.actions.filter((a) => a === "*");
    }
    const existing = out.find((o) => o.type === r.type && o.name === r.name);
    if (existing) existing.actions = [...new Set([...existing.actions, ...actions])];
    else out.push({ type: r.type, name: r.name, actions: [...new Set(actions)] });
  }
  return out;
}

/** Start an issuer on 127.0.0.1 (a free port). */
export function startTokenIssuer(opts: TokenIssuerOptions): TokenIssuer {
  const key = createPrivateKey(opts.signingKey);
  const x5c = pemToX5c(opts.signingCert);
  const expiresIn = opts.expiresIn ?? 300;
  let log: TokenRequest[] = [];

  const checkBasic = (header: string | null): boolean | undefined => {
    if (!header) return undefined;
    const m = /^Basic\s+(\S+)$/i.exec(header);
    if (!m) return false;
    let decoded: string;
    try {
      decoded = atob(m[1]);
    } catch {
      return false;
    }
    const i = decoded.indexOf(":");
    return i >= 0 && decoded.slice(0, i) === opts.username && decoded.slice(i + 1) === opts.password;
  };

  const issue = (scopes: string[], authenticated: boolean, subject: string) => {
    const now = Math.floor(Date.now() / 1000);
    const access = grant(scopes, authenticated);
    const token = signJwt(key, x5c, {
      iss: opts.issuer,
      sub: subject,
      aud: opts.service,
      exp: now + expiresIn,
      nbf: now - 10,
      iat: now,
      jti: crypto.randomUUID(),
      access,
    });
    return { token, access, issuedAt: new Date(now * 1000).toISOString() };
  };

  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const record = (r: Omit<TokenRequest, "method">) => log.push({ method: req.method, ...r });
    if (url.pathname !== "/token") {
      await req.body?.cancel();
      return new Response("not found\n", { status: 404 });
    }
    if (req.method === "GET") {
      const scopes = url.searchParams.getAll("scope").flatMap((s) => s.split(" ")).filter((s) => s !== "");
      const service = url.searchParams.get("service");
      const basic = checkBasic(req.headers.get("authorization"));
      if (basic === false) {
        record({ scope: scopes.join(" "), scopes, service, authenticated: false, status: 401, granted: [] });
        return Response.json({ errors: [{ code: "UNAUTHORIZED", message: "invalid credentials" }] }, {
          status: 401,
          headers: { "www-authenticate": 'Basic realm="token"' },
        });
      }
      const authenticated = basic === true;
      const t = issue(scopes, authenticated, authenticated ? opts.username : "");
      record({ scope: scopes.join(" "), scopes, service, authenticated, status: 200, granted: t.access });
      return Response.json({
        token: t.token,
        access_token: t.token,
        expires_in: expiresIn,
        issued_at: t.issuedAt,
      });
    }
    if (req.method === "POST") {
      const form = new URLSearchParams(await req.text());
      const scopes = (form.get("scope") ?? "").split(" ").filter((s) => s !== "");
      const service = form.get("service");
      const ok = form.get("grant_type") === "password" && form.get("username") === opts.username &&
        form.get("password") === opts.password;
      if (!ok) {
        record({ scope: scopes.join(" "), scopes, service, authenticated: false, status: 401, granted: [] });
        return Response.json({ error: "invalid_grant" }, { status: 401 });
      }
      const t = issue(scopes, true, opts.username);
      record({
        scope: scopes.join(" "),
        scopes,
        service,
        authenticated: true,
        status: 200,
        granted: t.access,
      });
      return Response.json({
        access_token: t.token,
        expires_in: expiresIn,
        issued_at: t.issuedAt,
        scope: scopes.join(" "),
      });
    }
    await req.body?.cancel();
    return new Response("method not allowed\n", { status: 405 });
  };

  const listen = { hostname: "127.0.0.1", port: 0, onListen: () => {} };
  const server = opts.tls
    ? Deno.serve({ ...listen, cert: opts.tls.cert, key: opts.tls.key }, handler)
    : Deno.serve(listen, handler);
  return {
    realm: `${opts.tls ? "https" : "http"}://127.0.0.1:${server.addr.port}/token`,
    requests: () => [...log],
    clearRequests: () => {
      log = [];
    },
    stop: () => server.shutdown(),
  };
}
