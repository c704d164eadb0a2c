/** The Pulumi Cloud simulator: a stateful, seeded fake of the API the exporter reads, with fault injection. */
export {
  createSimulator,
  createSimulatorApp,
  realSleep,
  type Simulator,
  type SimulatorOptions,
  type Sleep,
} from "./app.ts";
export type { ActiveFault, FaultRule, FaultType } from "./faults.ts";
export { parseFaultRules } from "./faults.ts";
export type { OrgState, OrgSummary, SimEvent, TickListener, TickReport } from "./model.ts";
export { SimModel } from "./model.ts";
export { OPERATIONS, ROUTES } from "./operations.ts";
export {
  DEFAULT_SCENARIO,
  DEMO_TOKEN,
  type PageSizes,
  type ScenarioInput,
  type ScenarioOptions,
} from "./options.ts";
export { type RunningSimulator, type StartOptions, startSimulator } from "./server.ts";
export type { StackRecord, StackRef, UpdateRecord } from "./stacks.ts";
export type { OperationStats, SimStats } from "./stats.ts";
export {
  type WebhookDelivery,
  type WebhookEvent,
  type WebhookFaults,
  WebhookSender,
  type WebhookSenderOptions,
  type WebhookStats,
  webhookEventsOf,
} from "./webhooks.ts";
