/**
 * A scripted {@link LegacyIptables} for unit tests: tables in use and their saves by family,
 * every restore recorded.
 * @module
 */
import type { LegacyIptables } from './legacy.js';

export class FakeLegacyIptables implements LegacyIptables {
  /** The tables in use, by family; none unless set. */
  readonly inUse = new Map<4 | 6, string[]>();
  /** What `save` answers, by family (an `Error` is thrown). */
  readonly saves = new Map<4 | 6, string | Error>();
  /** Every `restore`, in order, the failed ones too. */
  readonly restores: { family: 4 | 6; text: string }[] = [];
  /** What the next restores throw, in order; then they succeed. */
  readonly restoreFailures: Error[] = [];

  tablesInUse(family: 4 | 6): string[] {
    return this.inUse.get(family) ?? [];
  }

  save(family: 4 | 6): Promise<string> {
    const saved = this.saves.get(family) ?? '';
    return saved instanceof Error ? Promise.reject(saved) : Promise.resolve(saved);
  }

  restore(family: 4 | 6, text: string): Promise<void> {
    this.restores.push({ family, text });
    const failure = this.restoreFailures.shift();
    return failure === undefined ? Promise.resolve() : Promise.reject(failure);
  }
}
