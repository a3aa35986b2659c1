/**
 * Which state directory a call means. One rule for the engine, the CLI, the CNI plugin and the
 * agent, kept apart from the engine so that a CLI call through the agent can name it without
 * loading the engine.
 * @module
 */

export const DEFAULT_STATE_DIR = '/var/lib/ctnet';

/** The directory given, else `$CTNET_STATE_DIR` of `env`, else /var/lib/ctnet. */
export function stateDirOf(given: string | undefined, env: Readonly<Record<string, string | undefined>> = process.env): string {
  return given ?? env['CTNET_STATE_DIR'] ?? DEFAULT_STATE_DIR;
}
