/**
 * Fault injection: rules that make chosen operations slow, fail, hang, drop the connection or answer garbage.
 * Which call a rule hits is decided by a seeded generator, so a run with the same seed and calls repeats exactly.
 */
import { type } from "arktype";
import { isOperation } from "./operations.ts";
import { hashSeed, Rng } from "./random.ts";

const match = {
  /** An operationId, or "*" (the default) for every operation. */
  "operation?": "string",
  /** Only calls for this organization (path `orgName`, or the `organization` filter of ListUserStacks). */
  "org?": "string",
  /** Chance that a matching call is hit (default 1). */
  "probability?": "0 <= number <= 1",
  /** Hit only the next N matching calls, then the rule expires. */
  "times?": "number.integer >= 1",
} as const;

export const FaultRuleSchema = type({
  ...match,
  type: "'latency'",
  ms: "number >= 0",
  "jitterMs?": "number >= 0",
})
  .or({
    ...match,
    type: "'status'",
    status: "400 <= number.integer <= 599",
    /** Retry-After header, seconds. */
    "retryAfter?": "number.integer >= 0",
    "message?": "string",
  })
  .or({ ...match, type: "'hang'" })
  .or({ ...match, type: "'reset'" })
  .or({ ...match, type: "'down'" })
  .or({ ...match, type: "'malformed-json'" })
  .or({ ...match, type: "'invalid-item'" })
  .or({ ...match, type: "'slow-body'", "chunkBytes?": "number.integer >= 1", "intervalMs?": "number >= 0" });

export type FaultRule = typeof FaultRuleSchema.infer;
export type FaultType = FaultRule["type"];

const RuleList = FaultRuleSchema.array();

/** Validates rules from JSON or code; the error names what is wrong. */
export function parseFaultRules(input: unknown): FaultRule[] {
  const list = Array.isArray(input) ? input : [input];
  const rules = RuleList(list);
  if (rules instanceof type.errors) throw new Error(`invalid fault rule: ${rules.summary}`);
  for (const rule of rules) {
    const op = rule.operation;
    if (op !== undefined && op !== "*" && !isOperation(op))
      throw new Error(`invalid fault rule: unknown operation "${op}"`);
  }
  return rules;
}

export interface ActiveFault {
  rule: FaultRule;
  /** Hits left for a `times` rule; undefined when unlimited. */
  remaining: number | undefined;
  hits: number;
}

export type TerminalFault = Extract<FaultRule, { type: "status" | "hang" | "reset" | "down" }>;
export type SlowBody = Extract<FaultRule, { type: "slow-body" }>;

/** What to do to one call. */
export interface FaultPlan {
  delayMs: number;
  /** Answer with this instead of the real response. */
  terminal: TerminalFault | undefined;
  malformed: boolean;
  invalidItem: boolean;
  slowBody: SlowBody | undefined;
  /** Types of the rules that hit, in order. */
  hits: FaultType[];
}

const TERMINAL = new Set<FaultType>(["status", "hang", "reset", "down"]);

export class FaultInjector {
  #faults: ActiveFault[] = [];
  readonly #rng: Rng;

  constructor(seed: number, rules: readonly FaultRule[] = []) {
    this.#rng = new Rng(hashSeed(seed, 3));
    this.set(rules);
  }

  set(rules: readonly FaultRule[]): void {
    this.#faults = [];
    this.add(rules);
  }

  add(rules: readonly FaultRule[]): void {
    for (const rule of parseFaultRules([...rules]))
      this.#faults.push({ rule, remaining: rule.times, hits: 0 });
  }

  clear(): void {
    this.#faults = [];
  }

  list(): ActiveFault[] {
    return this.#faults.map((f) => ({ ...f, rule: { ...f.rule } }));
  }

  /** Rolls every rule matching the call; the first terminal rule wins, latency adds up. */
  plan(operation: string, org: string | undefined): FaultPlan {
    const plan: FaultPlan = {
      delayMs: 0,
      terminal: undefined,
      malformed: false,
      invalidItem: false,
      slowBody: undefined,
      hits: [],
    };
    for (const fault of this.#faults) {
      const { rule } = fault;
      if (fault.remaining === 0) continue;
      if (rule.operation !== undefined && rule.operation !== "*" && rule.operation !== operation) continue;
      if (rule.org !== undefined && rule.org !== org) continue;
      // A rule that could change nothing is not rolled, so it does not use up its `times`.
      if (TERMINAL.has(rule.type) && plan.terminal) continue;
      if (rule.type === "malformed-json" && plan.malformed) continue;
      if (rule.type === "invalid-item" && plan.invalidItem) continue;
      if (rule.type === "slow-body" && plan.slowBody) continue;
      const probability = rule.probability ?? 1;
      if (probability < 1 && !this.#rng.chance(probability)) continue;
      if (fault.remaining !== undefined) fault.remaining--;
      fault.hits++;
      plan.hits.push(rule.type);
      switch (rule.type) {
        case "latency":
          plan.delayMs += rule.ms + (rule.jitterMs ? Math.round(this.#rng.float() * rule.jitterMs) : 0);
          break;
        case "malformed-json":
          plan.malformed = true;
          break;
        case "invalid-item":
          plan.invalidItem = true;
          break;
        case "slow-body":
          plan.slowBody = rule;
          break;
        default:
          plan.terminal = rule;
      }
    }
    return plan;
  }
}
