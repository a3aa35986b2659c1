/** Where the repository and its executables are, for every helper. @module */
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dirname, '../../..');
export const CLI = join(REPO_ROOT, 'bin/ctnet.js');
export const CNI_PLUGIN = join(REPO_ROOT, 'bin/ctnet-cni.js');
/** The native CNI client node-gyp builds beside the addon (what `ctnet install-cni` installs). */
export const NATIVE_CNI_CLIENT = join(REPO_ROOT, 'build/Release/ctnet-cni');
