/**
 * The package as users get it: `npm pack` of the checkout, `npm install -g` of the tarball into a
 * temporary prefix, then the installed `ctnet` (version, network create/ls/rm), the installed library
 * (import), and the native CNI client the install compiled, put into a plugin directory by the
 * installed `ctnet install-cni` and run as runtimes run it, with PATH=/nonexistent and no agent:
 * VERSION, then ADD and DEL against a namespace through the Node plugin it falls back to.
 *
 * The sandbox has no network, so npm installs from its cache (`--offline`); the global install in
 * scripts/install-deps.sh fills the cache with every dependency. better-sqlite3 would otherwise
 * download its prebuilt binary from github.com or compile SQLite for a minute: prebuild-install is
 * handed the checkout's compiled copy as a local prebuild (the same file a download would unpack),
 * and ctnet's own addon and CNI client are compiled from the shipped binding.gyp, native/src and
 * native/cni as on any install.
 * Runs only as root inside scripts/sandbox.sh.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import { ctnetVeths } from '../helpers/podman.js';
import { ctnetStateDir, links, newNetns, ping, pluginExec, REPO_ROOT, sandboxSkipReason } from '../helpers/sandbox.js';

const skip = sandboxSkipReason();

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };

interface Run {
  stdout: string;
  stderr: string;
}

/** Run a command to completion; throws with its stderr when it exits non-zero. */
async function run(cmd: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(cmd, [...args], { cwd: options.cwd, env: options.env ?? process.env, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err === null) resolve({ stdout, stderr });
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${err.message.split('\n')[0]}): ${stderr.trim()}`));
    });
  });
}

/** Every file under `dir`, relative to `root`. */
function filesUnder(dir: string, root: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)));
}

test('the packed package installs with npm and its ctnet, library and ctnet-cni work', { skip, timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(process.env['CTNET_STATE_DIR'] ?? tmpdir(), 'install-'));
  t.after(() => { rmSync(dir, { recursive: true, force: true }); });
  const prefix = join(dir, 'prefix');
  const timings: string[] = [];
  const timed = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const value = await fn();
    timings.push(`${what} ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return value;
  };

  // The suite runs on a fresh build (npm test builds first), so pack skips its prepack rebuild.
  const packOut = await timed('npm pack', () => run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: REPO_ROOT }));
  const [packed] = JSON.parse(packOut.stdout) as { filename: string; files: { path: string }[] }[];
  assert.ok(packed !== undefined, `npm pack --json printed no package: ${packOut.stdout}`);
  const shipped = packed.files.map((f) => f.path);

  await t.test('the tarball holds the bins, the whole bundle, the library and the native sources, and no tests', () => {
    for (const f of ['package.json', 'bin/ctnet.js', 'bin/ctnet-cni.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'binding.gyp', 'native/src/addon.c', 'native/cni/ctnet-cni.c']) {
      assert.ok(shipped.includes(f), `${f} is not in the tarball`);
    }
    // Every chunk the bins import, whatever esbuild named it.
    for (const f of filesUnder(join(REPO_ROOT, 'dist/bundle'), REPO_ROOT)) assert.ok(shipped.includes(f), `${f} is not in the tarball`);
    const unwanted = shipped.filter((f) => /^dist\/(test|bench)\/|\.test\.|(^|\/)fake-|(^|\/)test-fixtures\./.test(f));
    assert.deepEqual(unwanted, [], 'tests, fixtures and fakes are not shipped');
  });

  const tarball = join(dir, packed.filename);
  const bsqlite = JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules/better-sqlite3/package.json'), 'utf8')) as { version: string };
  const prebuilds = join(dir, 'prebuilds');
  mkdirSync(prebuilds);
  // prebuild-install's file name: {name}-v{version}-{runtime}-v{abi}-{platform}{libc}-{arch}.tar.gz (libc is empty for glibc).
  const prebuild = join(prebuilds, `better-sqlite3-v${bsqlite.version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`);
  await run('tar', ['-czf', prebuild, '-C', join(REPO_ROOT, 'node_modules/better-sqlite3'), 'build/Release/better_sqlite3.node']);

  const installArgs = ['install', '-g', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', `--allow-scripts=${tarball},better-sqlite3`, tarball];
  await timed('npm install -g', async () => {
    try {
      await run('npm', installArgs, { cwd: dir, env: { ...process.env, npm_config_better_sqlite3_local_prebuilds: prebuilds } });
    } catch (err) {
      const hint = String(err).includes('ENOTCACHED') ? " (npm's cache lacks a dependency: scripts/install-deps.sh's global install, run with network, puts them all there)" : '';
      throw new Error(`${String(err)}${hint}`, { cause: err });
    }
  });
  const bin = join(prefix, 'bin');
  const installed = join(prefix, 'lib/node_modules/ctnet');
  const env = { ...process.env, PATH: `${bin}:${process.env['PATH'] ?? ''}` };

  await t.test('ctnet --version, network create / ls / rm', async (tt) => {
    assert.equal((await run('ctnet', ['--version'], { env })).stdout.trim(), pkg.version);
    const stateDir = ctnetStateDir(tt);
    const ctnet = (args: readonly string[]): Promise<Run> => run('ctnet', ['--state-dir', stateDir, ...args], { env });
    await ctnet(['network', 'create', 'instnet', '--subnet', '10.93.0.0/24', '--bridge', 'ctinst0']);
    assert.ok((await links()).some((l) => l.ifname === 'ctinst0'), 'the bridge exists');
    const nets = JSON.parse((await ctnet(['--json', 'network', 'ls'])).stdout) as { name: string }[];
    assert.deepEqual(nets.map((n) => n.name), ['instnet']);
    await ctnet(['network', 'rm', 'instnet']);
    assert.deepEqual(JSON.parse((await ctnet(['--json', 'network', 'ls'])).stdout), []);
    assert.equal((await links()).some((l) => l.ifname === 'ctinst0'), false, 'the bridge is gone');
  });

  await t.test('the library imports from the installed package', async () => {
    const probe = "const m = await import(process.argv[1]); if (typeof m.Ctnet?.open !== 'function') throw new Error('no Ctnet.open export');";
    await run(process.execPath, ['--input-type=module', '-e', probe, join(installed, 'dist/src/index.js')]);
  });

  await t.test('the CNI client installed by ctnet install-cni runs with PATH=/nonexistent', async (tt) => {
    const pluginDir = join(dir, 'cni-bin');
    await run('ctnet', ['install-cni', '--dir', pluginDir], { env });
    const plugin = join(pluginDir, 'ctnet');
    accessSync(plugin, constants.X_OK);
    const binary = readFileSync(plugin).toString('latin1');
    assert.ok(binary.includes(`${installed}/bin/ctnet-cni.js\0`), 'the client falls back to the installed package\'s Node plugin');
    assert.ok(binary.includes(`${process.execPath}\0`), 'by the absolute path of node');

    const ns = await newNetns(tt);
    const stateDir = ctnetStateDir(tt);
    const cniEnv = (command: string): Record<string, string> => ({
      PATH: '/nonexistent',
      CTNET_SOCKET: join(dir, 'no-agent.sock'),
      CNI_COMMAND: command,
      CNI_CONTAINERID: 'install-test',
      CNI_NETNS: `/run/netns/${ns}`,
      CNI_IFNAME: 'eth0',
      CNI_PATH: pluginDir,
    });
    const version = await pluginExec(plugin, [], { PATH: '/nonexistent', CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.1.0"}');
    assert.equal(version.code, 0, `VERSION: ${version.stderr}${version.stdout}`);
    assert.ok((JSON.parse(version.stdout) as { supportedVersions: string[] }).supportedVersions.includes('1.1.0'));

    const conf = { cniVersion: '1.1.0', name: 'instcni', type: 'ctnet', subnets: ['10.93.1.0/24'], bridge: 'ctinst1', stateDir };
    const add = await pluginExec(plugin, [], cniEnv('ADD'), JSON.stringify(conf));
    assert.equal(add.code, 0, `ADD: ${add.stderr}${add.stdout}`);
    const result = JSON.parse(add.stdout) as { ips: { address: string }[] };
    assert.match(result.ips[0]?.address ?? '', /^10\.93\.1\.\d+\/24$/);
    assert.equal(await ping(ns, '10.93.1.1'), true, 'the container reaches its gateway');
    const del = await pluginExec(plugin, [], cniEnv('DEL'), JSON.stringify({ ...conf, prevResult: result }));
    assert.equal(del.code, 0, `DEL: ${del.stderr}${del.stdout}`);
    assert.deepEqual(JSON.parse((await run('ctnet', ['--state-dir', stateDir, '--json', 'ls'], { env })).stdout), []);
    assert.deepEqual(await ctnetVeths(), []);
  });

  t.diagnostic(timings.join(', '));
});
