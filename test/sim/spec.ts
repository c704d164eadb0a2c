/** Validates simulator responses against the official Pulumi Cloud spec, merged with our overlay. */
import { resolve } from "node:path";
import Ajv, { type ValidateFunction } from "ajv";
import { mergePatch } from "../../openapi/subset.ts";

const root = resolve(import.meta.dir, "../..");
export const SPEC_PATH = resolve(root, "../shared/openapi/pulumi-spec.json");

interface Spec {
  paths: Record<string, Record<string, { operationId?: string; responses?: Record<string, unknown> }>>;
}

/** JSON Pointer escaping, then URI-fragment escaping of what a pointer may contain. */
function pointer(parts: string[]): string {
  return parts.map((p) => encodeURIComponent(p.replaceAll("~", "~0").replaceAll("/", "~1"))).join("/");
}

export interface SpecValidator {
  /** Path and method of each operationId in the merged spec. */
  operations: Map<string, { path: string; method: string }>;
  /** Errors of `body` against the operation's 200 response schema; empty when valid. */
  validate(operationId: string, body: unknown): string[];
}

export async function loadSpecValidator(): Promise<SpecValidator> {
  const spec = (await Bun.file(SPEC_PATH).json()) as Spec;
  const { $comment: _comment, ...overlay } = (await Bun.file(
    resolve(root, "openapi/overlay.json"),
  ).json()) as Record<string, unknown>;
  const merged = mergePatch(spec, overlay) as Spec;
  const operations = new Map<string, { path: string; method: string }>();
  for (const [path, item] of Object.entries(merged.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (typeof op === "object" && op !== null && typeof op.operationId === "string") {
        operations.set(op.operationId, { path, method });
      }
    }
  }
  // OpenAPI 3.0 is JSON Schema with extras: `nullable` is understood by Ajv, `format`s are not checked,
  // x- keywords and `discriminator` (annotations here) are ignored by strict: false.
  const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true, validateSchema: false });
  ajv.addSchema({ ...merged, $id: "pulumi" });
  const compiled = new Map<string, ValidateFunction>();
  return {
    operations,
    validate(operationId, body) {
      let validate = compiled.get(operationId);
      if (!validate) {
        const where = operations.get(operationId);
        if (!where) throw new Error(`operation ${operationId} is not in the spec`);
        const ref = `pulumi#/${pointer(["paths", where.path, where.method, "responses", "200", "content", "application/json", "schema"])}`;
        validate = ajv.compile({ $ref: ref });
        compiled.set(operationId, validate);
      }
      if (validate(body)) return [];
      return (validate.errors ?? []).map(
        (e) => `${e.instancePath || "/"} ${e.message ?? ""} ${JSON.stringify(e.params)}`,
      );
    },
  };
}
