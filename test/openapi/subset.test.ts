import { describe, expect, test } from "bun:test";
import {
  checkEntry,
  collectRefs,
  cutSubset,
  mergePatch,
  type OpenApiDocument,
} from "../../openapi/subset.ts";

const doc: OpenApiDocument = {
  openapi: "3.0.3",
  info: { title: "Test", version: "1" },
  paths: {
    "/a": {
      parameters: [],
      get: {
        operationId: "GetA",
        responses: {
          "200": { content: { "application/json": { schema: { $ref: "#/components/schemas/Pet" } } } },
        },
      },
      post: { operationId: "PostA", responses: {} },
    },
    "/b": { get: { operationId: "GetB", responses: {} } },
  },
  components: {
    schemas: {
      Pet: {
        oneOf: [{ $ref: "#/components/schemas/Cat" }],
        discriminator: { propertyName: "kind", mapping: { dog: "#/components/schemas/Dog" } },
      },
      Cat: { type: "object", properties: { owner: { $ref: "#/components/schemas/Owner" } } },
      Dog: { type: "object" },
      Owner: {
        type: "object",
        properties: { pets: { type: "array", items: { $ref: "#/components/schemas/Pet" } } },
      },
      Unused: { type: "object" },
    },
  },
};

describe("mergePatch", () => {
  test("merges objects, replaces scalars and deletes nulls (RFC 7396)", () => {
    expect(
      mergePatch({ a: { b: 1, c: 2 }, d: [1], e: "x" }, { a: { b: null, f: 3 }, d: [2], e: null }),
    ).toEqual({
      a: { c: 2, f: 3 },
      d: [2],
    });
  });
});

describe("cutSubset", () => {
  test("keeps the named operations and follows $ref and discriminator.mapping transitively", () => {
    const subset = cutSubset(doc, ["GetA"]);
    expect(Object.keys(subset.paths)).toEqual(["/a"]);
    expect(Object.keys(subset.paths["/a"] ?? {})).toEqual(["parameters", "get"]);
    expect(Object.keys(subset.components?.schemas ?? {})).toEqual(["Cat", "Dog", "Owner", "Pet"]);
  });

  test("fails loudly when an operation is missing", () => {
    expect(() => cutSubset(doc, ["GetA", "Nope"])).toThrow("operations not in the spec: Nope");
  });

  test("collectRefs finds mapping targets", () => {
    expect([...collectRefs(doc.components?.schemas?.Pet)].sort()).toEqual([
      "#/components/schemas/Cat",
      "#/components/schemas/Dog",
    ]);
  });
});

describe("checkEntry: openapi/operations.json's fields are checked against the spec", () => {
  const spec: OpenApiDocument = {
    openapi: "3.0.3",
    info: { title: "Test", version: "1" },
    paths: {},
    components: {
      schemas: {
        Page: {
          type: "object",
          properties: { pets: { type: "array", items: { $ref: "#/components/schemas/Pet" } } },
        },
        Base: { type: "object", properties: { id: { type: "string" } } },
        Pet: {
          allOf: [
            { $ref: "#/components/schemas/Base" },
            { type: "object", properties: { name: { type: "string" } } },
          ],
        },
      },
    },
  };
  const listing = {
    responses: {
      "200": { content: { "application/json": { schema: { $ref: "#/components/schemas/Page" } } } },
    },
  };

  test("an array of the response and a field of its items, own or through allOf, pass", () => {
    expect(() =>
      checkEntry(spec, "ListPets", listing, { items: "pets", invalidWithout: "name" }),
    ).not.toThrow();
    expect(() =>
      checkEntry(spec, "ListPets", listing, { items: "pets", invalidWithout: "id" }),
    ).not.toThrow();
    expect(() => checkEntry(spec, "ListPets", listing, { invalidWithout: "pets" })).not.toThrow();
  });

  test("a misspelt array or field fails the generation, naming the operation", () => {
    expect(() => checkEntry(spec, "ListPets", listing, { items: "pet", invalidWithout: "name" })).toThrow(
      'ListPets: its response has no array "pet"',
    );
    expect(() => checkEntry(spec, "ListPets", listing, { items: "pets", invalidWithout: "nmae" })).toThrow(
      'ListPets: its items have no "nmae"',
    );
    expect(() => checkEntry(spec, "GetPage", listing, { invalidWithout: "total" })).toThrow(
      'GetPage: its response has no "total"',
    );
  });
});
