/**
 * The CNI VERSION command, apart from the engine: runtimes call it before every ADD and DEL
 * (podman does), and loading the engine (SQLite, the native addon) would cost that call more than
 * Node's own start-up.
 * @module
 */
import { CNI_ERR, CniError } from './errors.js';
import type { CniHandler } from './skel.js';
import { errorMessage } from '../errors.js';

/** Spec versions ctnet-cni speaks. Here rather than in config.ts, which VERSION does not load. */
export const SUPPORTED_VERSIONS = ['1.0.0', '1.1.0'] as const;

/** What the plugin says it is, on stderr, when run without CNI_COMMAND. */
export function pluginAbout(packageVersion: string): string {
  return `CNI ctnet plugin v${packageVersion}`;
}

export const LATEST_VERSION = SUPPORTED_VERSIONS[SUPPORTED_VERSIONS.length - 1] ?? '1.1.0';

export const version: CniHandler = async (_env, stdin, reply) => {
  let requested: string = LATEST_VERSION;
  try {
    const v = (JSON.parse(stdin === '' ? '{}' : stdin) as { cniVersion?: unknown }).cniVersion;
    if (typeof v === 'string' && v !== '') requested = v;
  } catch (err) {
    throw new CniError(CNI_ERR.DECODING_FAILURE, 'failed to decode version request', errorMessage(err));
  }
  await reply({ cniVersion: requested, supportedVersions: [...SUPPORTED_VERSIONS] });
};
