import { describe, expect, test } from "bun:test";
import { gaugeRecorder } from "../../src/metrics/recorder.ts";

describe("the typed gauge recorder", () => {
  test("records points with exactly the catalog's labels; a disabled family records nothing", () => {
    const recorder = gaugeRecorder(new Set(["policy"]));
    recorder.add("deploymentStatus", { org: "acme", status: "running" }, 2);
    recorder.add("orgPolicyTotal", { org: "acme" }, 9);
    recorder.add("exporterUp", {}, 1);
    recorder.add("orgMemberCount", { org: "acme" }, undefined);
    recorder.add("orgTeamCount", { org: "acme" }, Number.NaN);
    expect([...recorder.readings]).toEqual([
      ["deploymentStatus", [{ attributes: { org: "acme", status: "running" }, value: 2 }]],
      ["exporterUp", [{ attributes: {}, value: 1 }]],
    ]);
  });

  test("a recording with a missing or an extra label does not compile", () => {
    const recorder = gaugeRecorder();
    // Each line below fails `npm run typecheck` if it ever compiles (an unused @ts-expect-error is an error).
    // @ts-expect-error `status` is missing
    recorder.add("deploymentStatus", { org: "acme" }, 1);
    // @ts-expect-error `pool` is not a label of pulumi_org_member_count
    recorder.add("orgMemberCount", { org: "acme", pool: "x" }, 1);
    // @ts-expect-error a label value is a string
    recorder.add("orgMemberCount", { org: 3 }, 1);
    // At run time the recorder trusts the types: what was recorded is what was given.
    expect(recorder.readings.get("deploymentStatus")).toEqual([{ attributes: { org: "acme" }, value: 1 }]);
    expect(recorder.readings.get("orgMemberCount")).toHaveLength(2);
  });
});
