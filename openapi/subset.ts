/** Pure helpers for cutting an operation subset out of an OpenAPI 3 document. */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface OpenApiDocument {
  openapi: string;
  info: JsonObject;
  paths: Record<string, Record<string, JsonValue>>;
  components?: Record<string, Record<string, JsonValue>>;
  [key: string]: unknown;
}

const METHODS = new Set(["get", "put", "post", "delete", "options", "head", "patch", "trace"]);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** RFC 7396 JSON Merge Patch: objects merge recursively, `null` deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const result: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/** Every local `#/components/...` reference in a value: `$ref`s and discriminator mapping targets. */
export function collectRefs(value: unknown, into: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) collectRefs(item, into);
  } else if (isObject(value)) {
    for (const [key, child] of Object.entries(value)) {
      if (key === "$ref" && typeof child === "string") into.add(child);
      else if (key === "discriminator" && isObject(child) && isObject(child.mapping)) {
        for (const target of Object.values(child.mapping)) if (typeof target === "string") into.add(target);
        collectRefs(child, into);
      } else collectRefs(child, into);
    }
  }
  return into;
}

function resolvePointer(doc: OpenApiDocument, ref: string): unknown {
  if (!ref.startsWith("#/")) throw new Error(`only local references are supported: ${ref}`);
  let node: unknown = doc;
  for (const raw of ref.slice(2).split("/")) {
    const part = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    if (!isObject(node) || !(part in node)) throw new Error(`unresolved reference ${ref}`);
    node = node[part];
  }
  return node;
}

/**
 * Keeps only the named operations and the components they reach, transitively. Throws when an operation is
 * missing from the document, so a renamed operation fails the generation instead of vanishing silently.
 */
export function cutSubset(doc: OpenApiDocument, operationIds: readonly string[]): OpenApiDocument {
  const wanted = new Set(operationIds);
  const found = new Set<string>();
  const paths: OpenApiDocument["paths"] = {};
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (!METHODS.has(method) || !isObject(operation)) continue;
      const id = operation.operationId;
      if (typeof id !== "string" || !wanted.has(id)) continue;
      found.add(id);
      paths[path] ??= Object.fromEntries(Object.entries(item).filter(([key]) => !METHODS.has(key)));
      const target = paths[path];
      if (target) target[method] = operation as JsonValue;
    }
  }
  const missing = operationIds.filter((id) => !found.has(id));
  if (missing.length > 0) throw new Error(`operations not in the spec: ${missing.join(", ")}`);

  const components: Record<string, Record<string, JsonValue>> = {};
  const queue = [...collectRefs(paths)];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const ref = queue.pop() as string;
    if (seen.has(ref)) continue;
    seen.add(ref);
    const [, section, name] = ref.match(/^#\/components\/([^/]+)\/(.+)$/) ?? [];
    if (!section || !name) throw new Error(`unsupported reference ${ref}`);
    const value = resolvePointer(doc, ref) as JsonValue;
    components[section] ??= {};
    const bucket = components[section];
    if (bucket) bucket[name] = value;
    for (const next of collectRefs(value)) if (!seen.has(next)) queue.push(next);
  }
  const sorted = Object.fromEntries(
    Object.entries(components)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([section, entries]) => [
        section,
        Object.fromEntries(Object.entries(entries).sort(([a], [b]) => a.localeCompare(b))),
      ]),
  );
  return {
    openapi: doc.openapi,
    info: { ...doc.info, title: `${String(doc.info.title ?? "Pulumi Cloud")} (pulumi-exporter subset)` },
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    components: sorted,
  };
}
