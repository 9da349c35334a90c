/**
 * The README's routes work as written: the usage block names every command and option of the option table,
 * the openssl recipe verifies an envelope the tool signed (and rejects a tampered one), and the jq recipe splices
 * the component into another BOM.
 */

import assert from "node:assert/strict";
import { COMMAND_TABLE, type CommandName, optionsOf } from "../src/cli/options.ts";
import { cli, REPO_ROOT } from "./support/cli.ts";
import { requireBinary, run } from "./support/tools.ts";

const README = await Deno.readTextFile(`${REPO_ROOT}/README.md`);

/** The fenced block of `lang` that contains `marker`. */
function block(marker: string, lang = "sh"): string {
  for (const m of README.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))) {
    if (m[1].includes(marker)) return m[1];
  }
  throw new Error(`no ${lang} block with ${marker} in the README`);
}

const LAYOUT = `oci:${REPO_ROOT}/fixtures/oci-layout:demo`;

Deno.test("README: the usage block names every command and option", () => {
  const usage = README.slice(README.indexOf("## Usage"), README.indexOf("### Shell completion"));
  for (const command of Object.keys(COMMAND_TABLE) as CommandName[]) {
    assert.ok(usage.includes(command), command);
    for (const o of optionsOf(command)) {
      const shown = o.default === true && o.value === undefined ? `--no-${o.name}` : `--${o.name}`;
      assert.ok(usage.includes(shown), `${command} ${shown}`);
    }
  }
});

Deno.test("README: the openssl recipe verifies a signed envelope, and fails on a tampered one", async () => {
  requireBinary("jq");
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/os.img`, "image\n");
    const signed = await cli([
      "provenance",
      "-u",
      LAYOUT,
      "--platform",
      "linux/amd64",
      "--subject",
      `${dir}/os.img`,
      "--builder-id",
      "https://ci.example/b",
      "--sign",
      `${REPO_ROOT}/fixtures/keys/test-p256.key.pem`,
      "-o",
      `${dir}/os.img.intoto.jsonl`,
    ]);
    assert.equal(signed.code, 0, signed.stderr);
    const recipe = block("openssl dgst -sha256 -verify").replace(
      /^envelope=\S+ pub=\S+$/m,
      `envelope=${dir}/os.img.intoto.jsonl pub=${REPO_ROOT}/fixtures/keys/test-p256.pub.pem`,
    );
    const ok = await run("bash", ["-euo", "pipefail", "-c", recipe], { cwd: dir });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(new TextDecoder().decode(ok.stdout), /Verified OK/);
    // A statement changed after signing does not verify.
    const env = JSON.parse(await Deno.readTextFile(`${dir}/os.img.intoto.jsonl`));
    const payload = atob(env.payload).replace("os.img", "os.imh");
    env.payload = btoa(payload);
    await Deno.writeTextFile(`${dir}/os.img.intoto.jsonl`, JSON.stringify(env));
    const bad = await run("bash", ["-euo", "pipefail", "-c", recipe], { cwd: dir });
    assert.notEqual(bad.code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("README: the jq recipe splices the component into another BOM's formulation", async () => {
  requireBinary("jq");
  const dir = await Deno.makeTempDir();
  try {
    const component = await cli([
      "sbom",
      "-u",
      LAYOUT,
      "--platform",
      "linux/amd64",
      "--format",
      "cyclonedx-component",
    ]);
    assert.equal(component.code, 0, component.stderr);
    await Deno.writeFile(`${dir}/build-env.component.json`, component.stdout);
    const host = await cli(["sbom", "-u", `oci:${REPO_ROOT}/fixtures/oci-layout:demo-arm64`]);
    await Deno.writeFile(`${dir}/os-image.cdx.json`, host.stdout);
    const recipe = block("--slurpfile env build-env.component.json");
    const out = await run("bash", ["-euo", "pipefail", "-c", recipe], { cwd: dir });
    assert.equal(out.code, 0, out.stderr);
    const spliced = JSON.parse(new TextDecoder().decode(out.stdout));
    assert.deepEqual(spliced.formulation[0].components[0], JSON.parse(component.stdoutText));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
