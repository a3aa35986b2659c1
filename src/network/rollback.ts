/**
 * The undo stack of a multi-step operation: register the undo of each step as soon as the step
 * succeeds; on failure undo everything in reverse order, so nothing is left half made.
 * @module
 */
import { errorMessage, TeardownError } from '../errors.js';

interface UndoStep {
  what: string;
  undo: () => void | Promise<void>;
}

export class Rollback {
  readonly #steps: UndoStep[] = [];

  /** Remember how to undo a step that just succeeded. */
  push(what: string, undo: () => void | Promise<void>): void {
    this.#steps.push({ what, undo });
  }

  /** The operation succeeded: forget every undo. */
  commit(): void {
    this.#steps.length = 0;
  }

  /**
   * Undo every registered step, newest first, and return the error to throw: the original one, or,
   * when some undo failed too, a TeardownError holding the original first and each undo failure.
   */
  async unwind(cause: unknown): Promise<unknown> {
    const failures: unknown[] = [];
    for (const step of this.#steps.reverse()) {
      try {
        await step.undo();
      } catch (err) {
        failures.push(new Error(`undo ${step.what}: ${errorMessage(err)}`, { cause: err }));
      }
    }
    this.#steps.length = 0;
    if (failures.length === 0) return cause;
    const text = errorMessage(cause);
    return new TeardownError([cause, ...failures], `${text} (and rollback left something behind: ${failures.map((f) => (f as Error).message).join('; ')})`);
  }
}
