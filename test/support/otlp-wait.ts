/** Waiting for a receiver to see something, without polling: receivers call `notify` whenever state changes. */
export interface Waiter {
  notify(): void;
  /** Resolves with `value()` once `done()` holds; rejects after `timeoutMs` with `describe()` in the message. */
  until<T>(done: () => boolean, value: () => T, what: string, timeoutMs: number): Promise<T>;
}

export function createWaiter(name: string, describe: () => string): Waiter {
  const waiters = new Set<() => void>();
  return {
    notify() {
      for (const wake of waiters) wake();
    },
    until(done, value, what, timeoutMs) {
      return new Promise((resolve, reject) => {
        if (done()) {
          resolve(value());
          return;
        }
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${name}: timed out waiting for ${what}; got: [${describe()}]`));
        }, timeoutMs);
        const check = () => {
          if (!done()) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(value());
        };
        waiters.add(check);
      });
    },
  };
}
