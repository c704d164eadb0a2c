import { describe, expect, test } from "bun:test";
import { Semaphore } from "../../src/collect/semaphore.ts";

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("Semaphore", () => {
  test("never runs more than the limit at once", async () => {
    const semaphore = new Semaphore(3);
    let running = 0;
    let peak = 0;
    const tasks = Array.from({ length: 20 }, (_, i) =>
      semaphore.run(async () => {
        running++;
        peak = Math.max(peak, running);
        await Bun.sleep(i % 3);
        running--;
        return i;
      }),
    );
    expect(await Promise.all(tasks)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(peak).toBe(3);
    expect(semaphore.active).toBe(0);
  });

  test("starts waiting tasks in FIFO order", async () => {
    const semaphore = new Semaphore(1);
    const gate = deferred();
    const order: number[] = [];
    const first = semaphore.run(async () => {
      await gate.promise;
      order.push(0);
    });
    const rest = [1, 2, 3, 4].map((n) => semaphore.run(async () => void order.push(n)));
    expect(semaphore.waiting).toBe(4);
    gate.resolve();
    await Promise.all([first, ...rest]);
    expect(order).toEqual([0, 1, 2, 3, 4]);
  });

  test("releases the slot when a task fails", async () => {
    const semaphore = new Semaphore(1);
    await expect(semaphore.run(() => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(semaphore.active).toBe(0);
    expect(await semaphore.run(async () => "next")).toBe("next");
  });

  test("rejects a limit below 1", () => {
    expect(() => new Semaphore(0)).toThrow("semaphore limit must be >= 1, got 0");
  });
});
