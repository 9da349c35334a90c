/**
 * Image references: the distribution reference grammar, Docker Hub normalisation, and the registry API host.
 *
 * ```
 * reference  := name [ ":" tag ] [ "@" digest ]
 * name       := [ domain "/" ] path-component ( "/" path-component )*
 * domain     := host [ ":" port ]          host: domain-name | IPv4 | "[" IPv6 "]"
 * path-comp  := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
 * tag        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 * ```
 *
 * @module
 */

import { parseDigest } from "./digest.ts";
import { ReferenceError } from "./errors.ts";

/** A parsed, normalised image reference. */
export interface Reference {
  /** Registry as named (normalised: `docker.io` for Docker Hub), with port if any. */
  registry: string;
  /** Repository path (`library/alpine`, `team/sub/app`). */
  repository: string;
  /** Tag, when given (or `latest` when neither tag nor digest was given). */
  tag?: string;
  /** Digest, when given. */
  digest?: string;
}

/** Default Docker Hub names. */
export const DOCKER_HUB = "docker.io";
const DOCKER_HUB_API = "registry-1.docker.io";

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const IPV6 = /^\[[0-9a-fA-F:.]+\]$/;
const MAX_NAME = 255;

function fail(input: string, why: string): never {
  const shown = input.length > 120 ? `${input.slice(0, 117)}...` : input;
  throw new ReferenceError(`invalid image reference "${shown}": ${why}`, {
    hint:
      "expected [REGISTRY[:PORT]/]REPOSITORY[:TAG][@sha256:DIGEST], e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.0",
  });
}

function validHost(host: string): boolean {
  let name = host;
  const portMatch = /^(.*):([0-9]+)$/.exec(host);
  if (portMatch) {
    name = portMatch[1];
    const port = Number(portMatch[2]);
    if (port < 1 || port > 65535) return false;
  }
  if (IPV6.test(name)) return true;
  if (name === "") return false;
  return name.split(".").every((c) => DOMAIN_COMPONENT.test(c));
}

/**
 * Parse an image reference and normalise Docker Hub short names. Throws {@link ReferenceError} (exit 2) saying
 * what is wrong. A reference with neither tag nor digest gets the tag `latest`.
 *
 * @example
 * ```ts
 * parseReference("alpine");
 * // { registry: "docker.io", repository: "library/alpine", tag: "latest" }
 * parseReference("localhost:5000/team/app:1.0@sha256:...");
 * ```
 */
export function parseReference(input: string): Reference {
  const text = input.trim();
  if (text === "") fail(input, "it is empty");
  if (/\s/.test(text)) fail(input, "it contains white space");
  if (text.includes("://")) {
    fail(input, "leave out the scheme (https://); plain-HTTP registries are a setting, not part of the name");
  }

  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    try {
      parseDigest(digest);
    } catch {
      fail(input, `"${digest.slice(0, 80)}" is not a valid digest (sha256: and 64 lower-case hex digits)`);
    }
  }

  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const lastColon = rest.lastIndexOf(":");
  if (lastColon > lastSlash) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG.test(tag)) {
      fail(
        input,
        `tag "${
          tag.slice(0, 80)
        }" is invalid (letters, digits, _ . -; at most 128; not starting with . or -)`,
      );
    }
  }

  let registry = DOCKER_HUB;
  let path = rest;
  const slash = rest.indexOf("/");
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (
      first.includes(".") || first.includes(":") || first === "localhost" || first !== first.toLowerCase()
    ) {
      if (!validHost(first)) fail(input, `"${first}" is not a valid registry host[:port]`);
      registry = first;
      path = rest.slice(slash + 1);
    }
  }
  if (registry === "index.docker.io" || registry === DOCKER_HUB_API) registry = DOCKER_HUB;
  if (path === "") fail(input, "the repository name is missing");
  const components = path.split("/");
  for (const c of components) {
    if (c === "") fail(input, "the repository path has an empty component");
    if (!PATH_COMPONENT.test(c)) {
      if (c.toLowerCase() !== c && PATH_COMPONENT.test(c.toLowerCase())) {
        fail(input, `repository names must be lower-case ("${c.slice(0, 80)}")`);
      }
      fail(input, `"${c.slice(0, 80)}" is not a valid repository path component`);
    }
  }
  if (registry === DOCKER_HUB && components.length === 1) path = `library/${path}`;
  // distribution/reference (since v0.6.0) limits the repository path, not the registry host with it.
  if (path.length > MAX_NAME) fail(input, `the repository name is longer than ${MAX_NAME} characters`);

  const ref: Reference = { registry, repository: path };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  if (tag === undefined && digest === undefined) ref.tag = "latest";
  return ref;
}

/** The host the registry API is served from (`registry-1.docker.io` for Docker Hub). */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API : registry;
}

/** What to ask the manifest endpoint for: the digest if any (it pins content), else the tag. */
export function manifestReference(ref: Reference): string {
  return ref.digest ?? ref.tag ?? "latest";
}

/**
 * Canonical text of a reference: `registry/repository[:tag][@digest]`.
 *
 * @example
 * ```ts
 * formatReference(parseReference("alpine")); // "docker.io/library/alpine:latest"
 * ```
 */
export function formatReference(ref: Reference): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ""}${
    ref.digest ? `@${ref.digest}` : ""
  }`;
}

/**
 * How two image references relate, as far as their text can tell: `same` (the same digest, or the same tag of
 * the same repository), `same-repository` (one repository, but a tag against a digest or two tags: whether they
 * name the same image is not known without asking the registry), or `different` (other repositories, or two
 * different digests). Text that is not a registry reference (an OCI layout) is `same` only when identical.
 *
 * @example
 * ```ts
 * compareReferences("alpine", "docker.io/library/alpine:latest"); // "same"
 * compareReferences("r.example/app:1", "r.example/app@sha256:..."); // "same-repository"
 * ```
 */
export function compareReferences(a: string, b: string): "same" | "same-repository" | "different" {
  const parse = (text: string): Reference | undefined => {
    try {
      return parseReference(text);
    } catch {
      return undefined;
    }
  };
  const ra = parse(a);
  const rb = parse(b);
  if (!ra || !rb) return a.trim() === b.trim() ? "same" : "different";
  if (ra.registry !== rb.registry || ra.repository !== rb.repository) return "different";
  if (ra.digest && rb.digest) return ra.digest === rb.digest ? "same" : "different";
  if (!ra.digest && !rb.digest && ra.tag === rb.tag) return "same";
  return "same-repository";
}
