/**
 * `ctnet install-cni [--dir DIR]`: puts the native CNI client (native/cni/ctnet-cni.c, built at
 * install into build/Release/ctnet-cni) where runtimes look for plugins, as DIR/ctnet.
 * @module
 */
import { closeSync, existsSync, fchmodSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromSystemError, NotFoundError } from '../../errors.js';
import { printJson, printNotice } from '../output.js';
import type { Program } from '../program.js';

/** Where containerd, the CRI plugin and Kubernetes look for plugins. */
export const DEFAULT_CNI_DIR = '/opt/cni/bin';

/** What `install-cni` did, as `--json` prints it. */
export interface InstalledCni {
  /** The plugin a network config of `"type": "ctnet"` runs: DIR/ctnet. */
  path: string;
  /** The built client it is a copy of. */
  source: string;
}

/**
 * The package's root: the nearest directory above this module with ctnet's package.json. The
 * module is bundled into dist/bundle/ or compiled to dist/src/cli/commands/, at different depths.
 */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'ctnet') return dir;
    const up = dirname(dir);
    if (up === dir) throw new NotFoundError(`no ctnet package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/**
 * Copy the built client to DIR/ctnet: written under a temporary name in DIR, made 0755, flushed to
 * disk and renamed over the old one, so a runtime starting a plugin meanwhile runs the old file or
 * the new one, never half of one.
 */
export function installCni(dir: string): InstalledCni {
  const root = packageRoot();
  const source = join(root, 'build/Release/ctnet-cni');
  if (!existsSync(source)) {
    throw new NotFoundError(
      `no built CNI client at ${source}: build it with "npm run build" in a checkout, or "npm rebuild -g ctnet" for an installed ctnet ` +
        '(node-gyp compiles native/cni/ctnet-cni.c; it needs a C compiler, make and python3)',
    );
  }
  const target = resolve(dir);
  const path = join(target, 'ctnet');
  // Every `ctnet` start loads this module, so the name takes no node:crypto; 'wx' refuses a clash.
  const temp = join(target, `.ctnet.${process.pid}.${Date.now()}`);
  let data: Buffer;
  try {
    data = readFileSync(source);
  } catch (err) {
    throw fromSystemError(`read ${source}`, err);
  }
  try {
    mkdirSync(target, { recursive: true, mode: 0o755 });
  } catch (err) {
    throw fromSystemError(`create ${target}`, err);
  }
  try {
    const fd = openSync(temp, 'wx', 0o700);
    try {
      writeFileSync(fd, data);
      // The umask may have taken bits off the mode given to open.
      fchmodSync(fd, 0o755);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw fromSystemError(`install ${path}`, err);
  }
  return { path, source };
}

export function register(program: Program): void {
  program
    .command('install-cni')
    .description(`install the CNI plugin as DIR/ctnet (the native client; default DIR ${DEFAULT_CNI_DIR})`)
    .option('--dir <dir>', 'the runtime\'s CNI plugin directory', DEFAULT_CNI_DIR)
    .action((opts, cmd) => {
      const json = cmd.optsWithGlobals().json === true;
      const installed = installCni(opts.dir);
      if (json) printJson(installed);
      else process.stdout.write(`installed ${installed.path} (from ${installed.source})\n`);
      printNotice(
        'podman on Debian looks for plugins in /usr/lib/cni too, before /opt/cni/bin, and so does Debian\'s containerd CRI plugin: ' +
          'a ctnet there is run instead of this one (ctnet install-cni --dir /usr/lib/cni puts it there)',
        json,
      );
    });
}
