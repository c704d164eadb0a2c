/** Counts every API call per operation, per answer and per injected fault. */

export interface OperationStats {
  calls: number;
  /**
   * By HTTP status ("200", "429", …), or "reset" (connection closed), "hang" (never answered) and "aborted"
   * (the client gave up during injected latency).
   */
  statuses: Record<string, number>;
  /** Faults injected, by type. */
  faults: Record<string, number>;
  /** Total latency injected, milliseconds. */
  injectedDelayMs: number;
}

export interface SimStats {
  calls: number;
  operations: Record<string, OperationStats>;
}

export class CallStats {
  #calls = 0;
  #operations = new Map<string, OperationStats>();

  #entry(operation: string): OperationStats {
    let entry = this.#operations.get(operation);
    if (!entry) {
      entry = { calls: 0, statuses: {}, faults: {}, injectedDelayMs: 0 };
      this.#operations.set(operation, entry);
    }
    return entry;
  }

  call(operation: string): void {
    this.#calls++;
    this.#entry(operation).calls++;
  }

  answer(operation: string, status: number | "reset" | "hang" | "aborted"): void {
    const statuses = this.#entry(operation).statuses;
    const key = String(status);
    statuses[key] = (statuses[key] ?? 0) + 1;
  }

  fault(operation: string, type: string): void {
    const faults = this.#entry(operation).faults;
    faults[type] = (faults[type] ?? 0) + 1;
  }

  delay(operation: string, ms: number): void {
    this.#entry(operation).injectedDelayMs += ms;
  }

  /** A deep copy, safe to keep while calls continue. */
  snapshot(): SimStats {
    return structuredClone({ calls: this.#calls, operations: Object.fromEntries(this.#operations) });
  }

  reset(): void {
    this.#calls = 0;
    this.#operations.clear();
  }
}
