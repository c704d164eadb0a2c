// biome-ignore-all lint/suspicious/noTemplateCurlyInString: GitHub expressions and shell parameters are literal text here
import { describe, expect, test } from "bun:test";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parse } from "yaml";

const ROOT = resolve(import.meta.dir, "../..");

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  needs?: string | string[];
  steps: Step[];
  outputs?: Record<string, string>;
}
interface Workflow {
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  jobs: Record<string, Job>;
}

async function workflow(name: string): Promise<Workflow> {
  return parse(await readFile(join(ROOT, ".github/workflows", name), "utf8")) as Workflow;
}

function job(wf: Workflow, name: string): Job {
  const found = wf.jobs[name];
  if (found === undefined) throw new Error(`no job ${name}`);
  return found;
}

function step(j: Job, predicate: (s: Step) => boolean): Step {
  const found = j.steps.find(predicate);
  if (found === undefined) throw new Error("no such step");
  return found;
}

describe("ci.yaml", () => {
  test("runs the checks of .ci/run in the same order on Node 20", async () => {
    const wf = await workflow("ci.yaml");
    expect(Object.keys(wf.on).sort()).toEqual(["pull_request", "push"]);
    const check = job(wf, "check");
    expect(step(check, (s) => s.uses === "actions/setup-node@v4").with?.["node-version"]).toBe(20);
    const runs = check.steps.flatMap((s) => (s.run === undefined ? [] : [s.run]));
    const order = [
      "npm ci",
      "apt-get install -y -qq --no-install-recommends prometheus",
      "npm run generate",
      "git diff --exit-code",
      "npm run typecheck",
      "npm run lint",
      "scripts/actionlint.sh",
      "npm test",
      "npm run build",
    ].map((command) => runs.findIndex((run) => run.includes(command)));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(order).not.toContain(-1);
  });
});

describe("release.yaml", () => {
  test("runs on v* tags with exactly the permissions it needs", async () => {
    const wf = await workflow("release.yaml");
    expect(wf.on).toEqual({ push: { tags: ["v*"] } });
    expect(wf.permissions).toEqual({ contents: "write", packages: "write", "id-token": "write" });
  });

  test("archives the cross-compiled binaries, signs the checksums and publishes them with the SBOM", async () => {
    const binaries = job(await workflow("release.yaml"), "binaries");
    const runs = binaries.steps.map((s) => s.run ?? s.uses ?? "");
    const at = (text: string) => runs.findIndex((r) => r.includes(text));
    expect(at("npm run build:all")).toBeGreaterThan(at("npm ci"));
    expect(at("packaging/release/archive.ts --dist dist --out release")).toBeGreaterThan(
      at("npm run build:all"),
    );
    expect(at("anchore/sbom-action@v0")).toBeGreaterThan(at("archive.ts"));
    expect(at("cosign sign-blob --yes --bundle checksums.txt.sigstore.json checksums.txt")).toBeGreaterThan(
      at("sha256sum"),
    );
    expect(at("softprops/action-gh-release@v2")).toBeGreaterThan(at("cosign sign-blob"));
    expect(step(binaries, (s) => s.uses === "anchore/sbom-action@v0").with?.format).toBe("spdx-json");
    expect(step(binaries, (s) => s.uses === "softprops/action-gh-release@v2").with?.files).toBe("release/*");
  });

  test("pushes a signed two-platform image to ghcr.io", async () => {
    const image = job(await workflow("release.yaml"), "image");
    const meta = step(image, (s) => s.name === "Image name and tags").run ?? "";
    expect(meta).toContain('image="ghcr.io/${GITHUB_REPOSITORY_OWNER,,}/pulumi-exporter"');
    expect(meta).toContain('tags="${tags},${image}:latest"');
    const build = step(image, (s) => s.uses === "docker/build-push-action@v6");
    expect(build.with?.platforms).toBe("linux/amd64,linux/arm64");
    expect(build.with?.push).toBe(true);
    expect(build.with?.tags).toBe("${{ steps.meta.outputs.tags }}");
    const sign = step(image, (s) => s.name === "Sign the image");
    expect(sign.run).toBe('cosign sign --yes "${IMAGE}@${DIGEST}"');
    expect(sign.env?.DIGEST).toBe("${{ steps.build.outputs.digest }}");
    for (const action of [
      "docker/setup-qemu-action@v3",
      "docker/setup-buildx-action@v3",
      "docker/login-action@v3",
    ]) {
      expect(image.steps.map((s) => s.uses)).toContain(action);
    }
  });

  test("updates the tap from the released checksums with the tap token", async () => {
    const homebrew = job(await workflow("release.yaml"), "homebrew");
    expect(homebrew.needs).toBe("binaries");
    const tap = step(homebrew, (s) => s.with?.path === "homebrew-tap");
    expect(tap.with).toEqual({
      repository: "${{ github.repository_owner }}/homebrew-tap",
      token: "${{ secrets.HOMEBREW_TAP_TOKEN }}",
      path: "homebrew-tap",
    });
    const update = step(homebrew, (s) => s.name === "Update the formula").run ?? "";
    expect(update).toContain("packaging/homebrew/generate.ts");
    expect(update).toContain("--checksums release/checksums.txt");
    expect(update).toContain("> homebrew-tap/Formula/pulumi-exporter.rb");
  });
});

test("every action is pinned to a major version", async () => {
  for (const name of ["ci.yaml", "release.yaml"]) {
    const wf = await workflow(name);
    const uses = Object.values(wf.jobs).flatMap((j) => j.steps.flatMap((s) => (s.uses ? [s.uses] : [])));
    expect(uses.length).toBeGreaterThan(1);
    for (const ref of uses) expect(ref).toMatch(/^[\w.-]+\/[\w.-]+@v\d+$/);
  }
});
