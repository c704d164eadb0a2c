/** The parts of a source's input a cycle adds, for tests that run one source alone (no listing, no other source). */
import { DEFAULT_SOURCE_SETTINGS, type OrgSourceInput } from "../../src/collect/source.ts";

export const ALONE: Pick<OrgSourceInput<unknown>, "settings" | "listing" | "events" | "slot"> = {
  settings: DEFAULT_SOURCE_SETTINGS,
  listing: undefined,
  events: new Map(),
  slot: (task) => task(),
};
