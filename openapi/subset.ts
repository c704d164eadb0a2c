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

/** An operation as openapi/operations.json declares it. */
export interface OperationEntry {
  /** The array of a list response. */
  items?: string;
  /** A field the exporter cannot do without: the simulator's invalid-item fault removes it. */
  invalidWithout: string;
}

type Schema = {
  $ref?: string;
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  allOf?: Schema[];
};

/** A schema with its `$ref`s followed. */
function resolved(subset: OpenApiDocument, schema: Schema | undefined): Schema | undefined {
  let at = schema;
  for (let depth = 0; at?.$ref !== undefined && depth < 32; depth++) {
    const name = at.$ref.split("/").at(-1) ?? "";
    at = (subset.components?.schemas as Record<string, Schema> | undefined)?.[name];
  }
  return at;
}

/** A schema's properties, its `allOf` parts' included. */
function propertiesOf(
  subset: OpenApiDocument,
  schema: Schema | undefined,
  depth = 0,
): Record<string, Schema> {
  const at = resolved(subset, schema);
  if (at === undefined || depth > 8) return {};
  const parts = (at.allOf ?? []).map((part) => propertiesOf(subset, part, depth + 1));
  return Object.assign({}, ...parts, at.properties);
}

/** The JSON body of the operation's 200 answer. */
function responseSchema(subset: OpenApiDocument, operation: unknown): Schema | undefined {
  const responses = (
    operation as { responses?: Record<string, { content?: Record<string, { schema?: Schema }> }> }
  ).responses;
  return resolved(subset, responses?.["200"]?.content?.["application/json"]?.schema);
}

/**
 * `items` must name an array of the response and `invalidWithout` a field of its items (or of the object), so a
 * typo fails the generation, not a test of the simulator.
 */
export function checkEntry(
  subset: OpenApiDocument,
  id: string,
  operation: unknown,
  entry: OperationEntry,
): void {
  let fields = propertiesOf(subset, responseSchema(subset, operation));
  if (entry.items !== undefined) {
    const field = resolved(subset, fields[entry.items]);
    if (field?.type !== "array") throw new Error(`${id}: its response has no array "${entry.items}"`);
    fields = propertiesOf(subset, field.items);
  }
  if (fields[entry.invalidWithout] === undefined)
    throw new Error(
      `${id}: its ${entry.items === undefined ? "response has" : "items have"} no "${entry.invalidWithout}"`,
    );
}
