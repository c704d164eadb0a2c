/** The webhook section of docs/benchmarks.md: its two targets, the per-cycle figures and how they were taken. */
import { duration, int, table } from "./markdown.ts";
import type { Latency } from "./suite.ts";
import type { WebhookRun, WebhookSummary } from "./webhooks.ts";

/** Median time from an update finishing in the simulator to the OTLP export that counts it, at most. */
export const WEBHOOK_LATENCY_MS = 2_000;
/** Steady API calls per cycle with webhooks, at most this fraction of the Go formula. */
export const WEBHOOK_CALLS_REDUCTION = 50;

export interface WebhookReport {
  readonly summary: WebhookSummary;
  readonly run: WebhookRun;
  readonly binaryVersion: string;
  readonly command: string;
  readonly startedAt: Date;
  readonly elapsedMs: number;
  readonly latency: Latency;
  /** Calls per cycle the same scenario would make without webhooks: every running update read each cycle. */
  readonly floorCalls: number;
}

function met(ok: boolean): string {
  return ok ? "met" : "**missed**";
}

export function webhookTargets(summary: WebhookSummary): string[][] {
  const label = `${int(summary.stacks)}/c${summary.concurrency}`;
  return [
    [
      `Median time from an update finishing in the simulator to the OTLP export that counts it ≤ ${duration(WEBHOOK_LATENCY_MS)}`,
      `${label}: ${duration(summary.latencyMedianMs)} (max ${duration(summary.latencyMaxMs)}; ${summary.ticksCounted} of ${summary.ticks} ticks counted before the next cycle)`,
      met(summary.latencyMedianMs <= WEBHOOK_LATENCY_MS && summary.ticksCounted === summary.ticks),
    ],
    [
      `Steady API calls ≤ 1/${WEBHOOK_CALLS_REDUCTION} of the Go formula at 1,000 stacks, the events' reads included`,
      `${label}: ${int(summary.steadyCalls)} vs ${int(summary.goCalls)} (1/${summary.reduction.toFixed(1)})`,
      met(summary.reduction >= WEBHOOK_CALLS_REDUCTION),
    ],
  ];
}

function sourceRow(summary: WebhookSummary): string[][] {
  return Object.entries(summary.bySource)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([source, calls]) => [`\`${source}\``, calls.toFixed(1)]);
}

export function renderWebhookSection(report: WebhookReport): string {
  const { summary, run } = report;
  const minutes = (report.elapsedMs / 60_000).toFixed(1);
  const cycleRows = run.cycles.map((cycle, i) => {
    const tick = run.ticks[i];
    return [
      String(cycle.index),
      int(cycle.calls),
      int(cycle.cycleCalls),
      int(cycle.listPages),
      int(cycle.byOperation.GetStackUpdates ?? 0),
      int(cycle.goCalls),
      tick ? int(tick.updatesFinished) : "—",
      tick ? int(tick.webhooks) : "—",
      tick?.latencyMs === undefined ? "—" : duration(tick.latencyMs),
    ];
  });
  const stats = run.webhookStats;
  return [
    "## Webhooks",
    "",
    `Run on ${report.startedAt.toISOString().slice(0, 16).replace("T", " ")} UTC with \`${report.command}\` (${minutes} minutes), measuring \`${report.binaryVersion}\`.`,
    "",
    "### Targets",
    "",
    table(["Target", "Measured", "Status"], webhookTargets(summary), "---|---|---"),
    "",
    "### Setup",
    "",
    `- The simulator of the benchmark (seed 1, 3 organizations, ${int(summary.stacks)} stacks, 2 % of the stacks start an update per tick, ${report.latency.meanMs} ms ± ${report.latency.jitterMs} ms of latency on every API call, 30 ticks before the exporter starts), posting signed webhooks (\`stack\`, \`stack_update\`, \`stack_preview\`, \`deployment\`, \`drift_detection\`, \`drift_remediation\`) to the exporter's main listener for what each tick finishes; no delivery faults (they are tested in \`test/sim/\` and \`test/webhooks/\`).`,
    `- The compiled exporter with \`PULUMI_EXPORTER_WEBHOOK_SECRET\`, concurrency ${summary.concurrency}, a ${duration(run.intervalMs)} interval and \`--webhook.reconcile-interval\` at ${duration(run.reconcileMs)}: five cycles, the defaults' ratio (5 minutes over 60 seconds). One tick (60 simulated seconds) after each cycle.`,
    "- **Latency**: for each tick, from the moment the simulator finishes its updates and sends their webhooks to the arrival of the first OTLP export whose `pulumi_update_total` counts every update the tick finished (an update of a stack the same tick deleted cannot be counted and is left out): an upper bound of each of its updates' latency. The median over the ticks.",
    `- **Calls**: every call the simulator answered between two cycle ends, the reads the events caused between the cycles included; the mean over the ${run.cycles.length - 1} steady cycles (a multiple of five: the organization inventory and the reconciliation run every fifth cycle). The Go formula is the same cycle's stack list pages + 2 × stacks + 10 × organizations.`,
    `- Webhooks: ${int(stats.events)} events, ${int(stats.sent)} sent, ${int(stats.delivered)} delivered, ${int(stats.failed)} failed. Exporter log: ${run.warnings} warnings, ${run.errors} errors.`,
    "",
    "### Per cycle",
    "",
    table(
      [
        "Cycle",
        "Calls since the last cycle",
        "of which the cycle's",
        "list pages",
        "`GetStackUpdates`",
        "Go formula",
        "Updates finished in the next tick",
        "Webhooks sent",
        "Counted in an export after",
      ],
      cycleRows,
    ),
    "",
    "Steady calls per cycle by source (mean):",
    "",
    table(["Source", "Calls"], sourceRow(summary)),
    "",
    "### Why",
    "",
    "- **Latency.** The first event of a tick is read and exported at once; the tick's other events arrive while that read runs, and their reads are exported together at the end of that second (at most one export per second, src/metrics/export-throttle.ts). So a whole tick is counted about a second after the simulator finished it, however many updates it finished; without webhooks it is counted by the next cycle, up to an interval later.",
    `- **Calls.** Each update costs two history reads: one when the stack list shows its new \`lastUpdate\` (it has started; read at once so that \`pulumi_stack_update_in_progress\` is right within a cycle, as without webhooks) and one when its finish event arrives; a running update is read again only once per reconcile interval. What the stacks' updates do not change, the stack list pages and the organization sources (deployments, read again on each deployment event; agent pools; drift, every stack once per \`--pulumi.drift-refresh\`; the inventory every fifth cycle), costs ~${int(report.floorCalls)} calls per cycle here, already above the ${int(summary.goCalls / WEBHOOK_CALLS_REDUCTION)} calls of the 1/${WEBHOOK_CALLS_REDUCTION} target; on top of it, a webhook is a trigger, never a count, so each of the ${summary.updatesPerTick} updates finished per tick needs at least its finish read, and each started one its start read (the update's kind, for \`pulumi_stack_update_in_progress\`): ~${int(2 * summary.updatesPerTick)} more calls per cycle, whatever the reconcile interval. Without webhooks a running update is read again on the polling back-off (\`--pulumi.running-update-max-gap\`; the 1,000-stack rows of the benchmark above).`,
  ].join("\n");
}
