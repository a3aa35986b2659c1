/**
 * A private podman 4.3 for integration tests, with ctnet as the CNI plugin of one network and the
 * reference plugins (`bridge` + `host-local` + `portmap`) on another, for comparison; a test can add
 * configuration lists of its own (`addConflist`, e.g. the README's from `readmeConflist`).
 *
 * Everything podman writes stays under one temporary directory inside the sandbox's state tmpfs:
 * its own containers.conf and storage.conf (graphroot, runroot, tmp_dir, network_config_dir,
 * cni_plugin_dirs), the ctnet state directory, host-local's data directory and the image.
 * /work/shared/notes/podman.md lists the adjustments this kind of machine needs; they are made in a
 * mount namespace of the lab's own (nested inside the sandbox's), held by one `unshare` process
 * that every podman command joins with `nsenter --mount`:
 *  - /sys/fs/cgroup/unified is unmounted (crun 1.8 refuses hybrid cgroups);
 *  - tmpfs over /dev/shm (podman's lock segment) and /var/lib/cni (libcni's result cache);
 *  - /var/lib and /run are overlaid with upper layers in the temporary directory, because podman
 *    and crun write to fixed places there (/var/lib/containers/cache, /run/crun) that must not
 *    appear on the real host. /run/netns, the sandbox's tmpfs, is moved back on top.
 * Later test files in the same sandbox see none of it. Cgroups are global, not namespaced: the
 * empty cgroups left under `--cgroup-parent` (its own and conmon's) are removed in close().
 *
 * `ip netns exec` must not wrap podman (it remounts /sys and hides the cgroup mounts).
 * Set CTNET_PODMAN_DEBUG=1 to run every podman command with `--log-level=debug`.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, chmodSync, constants, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, closeSync, readdirSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { CLI, REPO_ROOT, removeAllCtnetObjects, sandboxSkipReason, sh, waitForReady } from './sandbox.js';

export const IMAGE = 'localhost/bb:latest';
export const CGROUP_PARENT = '/ctnettest';
/** The page busybox httpd serves from /www. */
export const INDEX_HTML = 'hello from a ctnet busybox container\n';

/** The network whose plugin is ctnet. */
export const CT_NET = { name: 'ctpod', subnet: '10.89.0.0/24', gateway: '10.89.0.1', bridge: 'ctpod0' } as const;
/** The network of the reference plugins, for comparison. */
export const REF_NET = { name: 'ctref', subnet: '10.89.1.0/24', gateway: '10.89.1.1', bridge: 'refbr0' } as const;

const CNI_SYSTEM_DIR = '/usr/lib/cni';

/** One plugin of a network configuration list: its `type`, its `capabilities`, and its own keys. */
export interface ConflistPlugin {
  [key: string]: unknown;
  type: string;
  capabilities?: Record<string, boolean>;
}

/** A network configuration list (CNI SPEC.md section 1), as runtimes read it from `*.conflist`. */
export interface Conflist {
  cniVersion: string;
  name: string;
  plugins: ConflistPlugin[];
}

function isConflist(v: unknown): v is Conflist {
  if (typeof v !== 'object' || v === null) return false;
  const { cniVersion, name, plugins } = v as Record<string, unknown>;
  return typeof cniVersion === 'string' && typeof name === 'string' && Array.isArray(plugins) && plugins.every((p) => typeof (p as { type?: unknown } | null)?.type === 'string');
}

/**
 * The configuration list README.md documents for ctnet (its one JSON block whose list has a
 * `ctnet` plugin), read from the file so that the documented config is the tested one. Only
 * ctnet's `stateDir` is replaced, by `stateDir`: a test must keep its state apart from the host's.
 */
export function readmeConflist(stateDir: string): Conflist {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const lists = [...readme.matchAll(/```json\n([\s\S]*?)```/g)]
    .map((m) => JSON.parse(m[1] ?? '') as unknown)
    .filter((v): v is Conflist => isConflist(v) && v.plugins.some((p) => p.type === 'ctnet'));
  const [list, ...more] = lists;
  if (list === undefined || more.length > 0) throw new Error(`README.md has ${lists.length} JSON blocks with a ctnet configuration list; expected 1`);
  const ctnet = list.plugins.find((p) => p.type === 'ctnet');
  if (ctnet?.['stateDir'] === undefined) throw new Error('the README\'s ctnet plugin sets no stateDir for a test to replace');
  return { ...list, plugins: list.plugins.map((p) => (p === ctnet ? { ...p, stateDir } : p)) };
}

/** The first executable `name` in PATH or in `extra`, or undefined. */
export function findExecutable(name: string, extra: readonly string[] = []): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), ...extra].filter((d) => d !== '');
  for (const dir of dirs) {
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** True when the ELF file at `path` has no program interpreter, i.e. is statically linked. */
function isStaticElf(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(64);
    readSync(fd, head, 0, 64, 0);
    if (head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2) return false; // ELF64 only
    const phoff = Number(head.readBigUInt64LE(0x20));
    const phentsize = head.readUInt16LE(0x36);
    const phnum = head.readUInt16LE(0x38);
    const ph = Buffer.alloc(phentsize * phnum);
    readSync(fd, ph, 0, ph.length, phoff);
    for (let i = 0; i < phnum; i++) if (ph.readUInt32LE(i * phentsize) === 3 /* PT_INTERP */) return false;
    return true;
  } finally {
    closeSync(fd);
  }
}

/** A statically linked busybox (busybox-static), which runs in a rootfs without libraries. */
export function staticBusybox(): string | undefined {
  const p = findExecutable('busybox', ['/bin', '/usr/bin']);
  return p !== undefined && isStaticElf(p) ? p : undefined;
}

/** Why the podman tests cannot run here, or undefined when they can. */
export function podmanSkipReason(): string | undefined {
  const sandbox = sandboxSkipReason();
  if (sandbox !== undefined) return sandbox;
  if (findExecutable('podman') === undefined) return 'podman is not installed (scripts/install-deps.sh installs it)';
  if (!existsSync(join(CNI_SYSTEM_DIR, 'bridge'))) return `the reference CNI plugins are not in ${CNI_SYSTEM_DIR} (containernetworking-plugins)`;
  return labToolsSkipReason();
}

/** What a runtime's lab (podman's, containerd's) needs besides the runtime: the image and namespace tools. */
export function labToolsSkipReason(): string | undefined {
  if (staticBusybox() === undefined) return 'no statically linked busybox (busybox-static) to build the test image from';
  if (findExecutable('nsenter') === undefined || findExecutable('unshare') === undefined) return 'nsenter/unshare (util-linux) missing';
  return undefined;
}

export interface PodmanResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Wall time of the whole podman process, in milliseconds. */
  ms: number;
}

/** Sets up the lab's mount namespace, prints `ready`, then waits until its stdin closes. */
const HOLDER_SH = `
set -eu
T=$1
if mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified; fi
mount -t tmpfs -o mode=1777 ctnet-shm /dev/shm
mkdir -p "$T/ov/lib/up" "$T/ov/lib/work" "$T/ov/run/up" "$T/ov/run/work" "$T/ov/netns"
mount -t overlay ctnet-varlib -o "lowerdir=/var/lib,upperdir=$T/ov/lib/up,workdir=$T/ov/lib/work" /var/lib
mount --bind /run/netns "$T/ov/netns"
mount -t overlay ctnet-run -o "lowerdir=/run,upperdir=$T/ov/run/up,workdir=$T/ov/run/work" /run
mount --move "$T/ov/netns" /run/netns
mkdir -p /var/lib/cni
mount -t tmpfs ctnet-cni /var/lib/cni
echo ready
read -r _ || true
`;

function containersConf(dir: string): string {
  const q = JSON.stringify;
  return `[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = ${q(join(dir, 'tmp'))}
image_copy_tmp_dir = ${q(join(dir, 'tmp'))}

[network]
network_backend = "cni"
network_config_dir = ${q(join(dir, 'net'))}
cni_plugin_dirs = [${q(join(dir, 'plugins'))}, ${q(CNI_SYSTEM_DIR)}]
`;
}

function storageConf(dir: string): string {
  return `[storage]
driver = "overlay"
graphroot = ${JSON.stringify(join(dir, 'graph'))}
runroot = ${JSON.stringify(join(dir, 'runroot'))}
`;
}

function ctnetConflist(stateDir: string): Conflist {
  return {
    cniVersion: '1.0.0',
    name: CT_NET.name,
    plugins: [
      {
        type: 'ctnet',
        subnets: [CT_NET.subnet],
        bridge: CT_NET.bridge,
        stateDir,
        capabilities: { portMappings: true, ips: true, mac: true, aliases: true },
      },
    ],
  };
}

function referenceConflist(hostLocalDir: string): Conflist {
  return {
    cniVersion: '1.0.0',
    name: REF_NET.name,
    plugins: [
      {
        type: 'bridge',
        bridge: REF_NET.bridge,
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          dataDir: hostLocalDir,
          routes: [{ dst: '0.0.0.0/0' }],
          ranges: [[{ subnet: REF_NET.subnet, gateway: REF_NET.gateway }]],
        },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
}

/** Write `list` where the lab's podman reads its networks: network_config_dir/NAME.conflist. */
function writeConflist(dir: string, list: Conflist): void {
  writeFileSync(join(dir, 'net', `${list.name}.conflist`), JSON.stringify(list));
}

/** A busybox rootfs (static busybox, applet links, /www, passwd, group) as a tar file. */
export async function buildRootfsTar(dir: string): Promise<string> {
  const busybox = staticBusybox();
  if (busybox === undefined) throw new Error('no static busybox');
  const root = join(dir, 'rootfs');
  for (const d of ['bin', 'etc', 'www', 'tmp', 'root', 'proc', 'sys', 'dev']) mkdirSync(join(root, d), { recursive: true });
  copyFileSync(busybox, join(root, 'bin/busybox'));
  chmodSync(join(root, 'bin/busybox'), 0o755);
  for (const applet of (await sh(busybox, ['--list'])).split('\n')) {
    if (applet === '' || applet === 'busybox') continue;
    symlinkSync('busybox', join(root, 'bin', applet));
  }
  chmodSync(join(root, 'tmp'), 0o1777);
  writeFileSync(join(root, 'www/index.html'), INDEX_HTML);
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
  const tar = join(dir, 'rootfs.tar');
  await sh('tar', ['-C', root, '-cf', tar, '.']);
  return tar;
}

/** Cgroup hierarchies mounted in this (the sandbox's) mount namespace. */
function cgroupMounts(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => {
      const [pre, post] = line.split(' - ');
      const fstype = post?.split(' ')[0];
      return fstype === 'cgroup' || fstype === 'cgroup2' ? pre?.split(' ')[4] : undefined;
    })
    .filter((p): p is string => p !== undefined);
}

function rmdirQuiet(path: string): void {
  try {
    rmdirSync(path);
  } catch {
    // gone already, or still in use by someone else's processes: leave it
  }
}

/**
 * Remove cgroup `parent` (an absolute cgroup path) and the cgroups directly below it from every
 * hierarchy, where they are empty. Cgroups are global, not namespaced, so runtimes' parent cgroups
 * outlive a test's private setup.
 */
export function removeEmptyCgroups(parent: string): void {
  for (const mount of cgroupMounts()) {
    const dir = join(mount, parent);
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) rmdirQuiet(join(dir, entry.name));
    rmdirQuiet(dir);
  }
}

/** The running lab: podman commands, the ctnet state directory, cleanup. */
export class PodmanLab {
  readonly dir: string;
  readonly stateDir: string;
  readonly #holder: ChildProcess;
  readonly #env: NodeJS.ProcessEnv;
  readonly #debug = process.env['CTNET_PODMAN_DEBUG'] === '1';
  readonly #tablesBefore: Set<string>;

  private constructor(dir: string, holder: ChildProcess, tablesBefore: Set<string>) {
    this.dir = dir;
    this.stateDir = join(dir, 'ctnet-state');
    this.#holder = holder;
    this.#tablesBefore = tablesBefore;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      CONTAINERS_CONF: join(dir, 'containers.conf'),
      CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf'),
      TMPDIR: join(dir, 'tmp'),
    };
    // A remote connection or a user runtime directory would take podman elsewhere.
    for (const k of ['CONTAINER_HOST', 'CONTAINER_CONNECTION', 'XDG_RUNTIME_DIR', 'CONTAINERS_REGISTRIES_CONF']) delete env[k];
    this.#env = env;
  }

  /**
   * Build the private podman setup and its image. `installPlugin` puts the ctnet plugin into the
   * lab's plugin directory (e.g. `ctnet install-cni --dir`); by default a wrapper that runs the
   * Node plugin.
   */
  static async start(options: { installPlugin?: (pluginDir: string) => Promise<void> } = {}): Promise<PodmanLab> {
    const dir = mkdtempSync(join(process.env['CTNET_STATE_DIR'] ?? tmpdir(), 'podman-'));
    for (const d of ['tmp', 'net', 'plugins', 'graph', 'runroot', 'ctnet-state', 'host-local']) mkdirSync(join(dir, d), { recursive: true });
    writeFileSync(join(dir, 'containers.conf'), containersConf(dir));
    writeFileSync(join(dir, 'storage.conf'), storageConf(dir));
    writeConflist(dir, ctnetConflist(join(dir, 'ctnet-state')));
    writeConflist(dir, referenceConflist(join(dir, 'host-local')));
    // conmon runs the cleanup (and with it CNI DEL) with a reduced environment, so the plugin is a
    // wrapper with absolute paths rather than a `#!/usr/bin/env node` script that needs node on PATH.
    if (options.installPlugin === undefined) {
      writeFileSync(join(dir, 'plugins', 'ctnet'), `#!/bin/sh\nexec ${process.execPath} ${join(REPO_ROOT, 'bin/ctnet-cni.js')} "$@"\n`, { mode: 0o755 });
    } else {
      await options.installPlugin(join(dir, 'plugins'));
    }

    const tablesBefore = new Set(await nftTables());
    const holder = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', HOLDER_SH, 'ctnet-podman-lab', dir], { stdio: ['pipe', 'pipe', 'pipe'] });
    const lab = new PodmanLab(dir, holder, tablesBefore);
    try {
      await waitForReady(holder, 'podman lab namespace setup');
      const tar = await buildRootfsTar(dir);
      await lab.ok(['import', '-q', tar, IMAGE]);
    } catch (err) {
      await lab.close();
      throw err;
    }
    return lab;
  }



  /**
   * Start `ctnet daemon` in the lab's mount namespace, serving the lab's state directory on the
   * default socket (/run/ctnet/ctnet.sock in the lab's private /run): conmon's cleanup, which runs
   * DEL without CTNET_SOCKET, finds the agent there as it would on a host. Stopped by its pid.
   */
  async startAgent(): Promise<{ log: () => string; stop: () => Promise<void> }> {
    const pid = this.#holder.pid;
    if (pid === undefined || this.#holder.exitCode !== null) throw new Error('podman lab namespace is gone');
    const env = { ...process.env };
    delete env['CTNET_SOCKET'];
    // nsenter without --fork execs node itself: the child's pid is the agent's.
    const child = spawn('nsenter', ['-t', String(pid), '-m', '--', process.execPath, CLI, 'daemon', '--state-dir', this.stateDir], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = once(child, 'exit');
    const stop = async (): Promise<void> => {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGTERM');
      await exited;
    };
    // Its socket is in the lab's mount namespace, out of this process's reach: its log says when it listens.
    const deadline = Date.now() + 10_000;
    while (!stderr.includes('serves state directory')) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await stop();
        throw new Error(`ctnet daemon did not start in the podman lab: ${stderr.trim()}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return { log: () => stderr, stop };
  }

  /** Give podman the network `list` (written to its network_config_dir as NAME.conflist); returns its name. */
  addConflist(list: Conflist): string {
    writeConflist(this.dir, list);
    return list.name;
  }

  /** Run `podman ARGS` inside the lab; throws only when the lab or nsenter is gone, not when podman fails. */
  async run(args: readonly string[]): Promise<PodmanResult> {
    const pid = this.#holder.pid;
    if (pid === undefined || this.#holder.exitCode !== null) throw new Error('podman lab namespace is gone');
    const argv = ['-t', String(pid), '-m', '--', 'podman', ...(this.#debug ? ['--log-level=debug'] : []), ...args];
    const started = performance.now();
    const child = spawn('nsenter', argv, { env: this.#env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code] = (await once(child, 'close')) as [number | null];
    const ms = performance.now() - started;
    if (this.#debug) process.stderr.write(`podman ${args.join(' ')} (${ms.toFixed(0)} ms, exit ${String(code)})\n${stderr}`);
    return { code: code ?? -1, stdout, stderr, ms };
  }

  /** Run `podman ARGS`; its stdout, or an error carrying its stderr. */
  async ok(args: readonly string[]): Promise<string> {
    const r = await this.run(args);
    if (r.code !== 0) throw new Error(`podman ${args.join(' ')} exited with ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** `podman run -d` on a network with the lab's cgroup parent; returns the result (id in stdout). */
  async runDetached(name: string, network: string, cmd: readonly string[], extra: readonly string[] = []): Promise<PodmanResult> {
    return this.run(['run', '-d', `--cgroup-parent=${CGROUP_PARENT}`, '--network', network, '--name', name, ...extra, IMAGE, ...cmd]);
  }

  /** The address podman reports for a container on a network. */
  async containerIp(name: string, network: string): Promise<string> {
    const out = await this.ok(['inspect', name, '--format', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`]);
    return out.trim();
  }

  /**
   * Remove every container, end the lab's mount namespace, undo what the plugins left in the
   * sandbox (ctnet's networks, the reference bridge, nftables tables that appeared meanwhile) and
   * on the host (the cgroups under CGROUP_PARENT), and delete the directory.
   */
  async close(): Promise<void> {
    const failures: string[] = [];
    if (this.#holder.exitCode === null && this.#holder.signalCode === null) {
      const rm = await this.run(['rm', '-af', '-t', '0']).catch((err: unknown) => ({ code: -1, stderr: String(err) }));
      if (rm.code !== 0) failures.push(`podman rm -af: ${rm.stderr.trim()}`);
      this.#holder.stdin?.end();
      const exited = once(this.#holder, 'exit');
      const timer = setTimeout(() => {
        if (this.#holder.pid !== undefined && this.#holder.exitCode === null) process.kill(this.#holder.pid, 'SIGKILL');
      }, 3000);
      await exited;
      clearTimeout(timer);
    }
    await removeAllCtnetObjects(this.stateDir).catch((err: unknown) => failures.push(String(err)));
    await sh('ip', ['link', 'del', REF_NET.bridge]).catch(() => undefined);
    // The reference plugins leave their iptables(-nft) tables behind; ctnet removes its own table
    // with its last network, and a leftover one is for ctnet's own tests to find.
    for (const table of await nftTables()) {
      if (this.#tablesBefore.has(table) || table === 'inet ctnet') continue;
      const [family, name] = table.split(' ');
      await sh('nft', ['delete', 'table', family ?? '', name ?? '']).catch((err: unknown) => failures.push(String(err)));
    }
    // crun removes a container's cgroup with the container, but not CGROUP_PARENT nor conmon's
    // cgroup below it (nor anything a killed run left). rmdir only removes empty cgroups: one
    // that still holds a process (another run's) stays.
    removeEmptyCgroups(CGROUP_PARENT);
    rmSync(this.dir, { recursive: true, force: true });
    if (failures.length > 0) throw new Error(`podman lab cleanup: ${failures.join('; ')}`);
  }
}

/** nftables tables in the sandbox as `family name`. */
export async function nftTables(): Promise<string[]> {
  const doc = JSON.parse(await sh('nft', ['-j', 'list', 'tables'])) as { nftables: { table?: { family: string; name: string } }[] };
  return doc.nftables.flatMap((i) => (i.table === undefined ? [] : [`${i.table.family} ${i.table.name}`]));
}

/** Published-port elements of ctnet's table, as `map key -> value`; empty when there is no table. */
export async function ctnetPortElements(): Promise<string[]> {
  let out: string;
  try {
    out = await sh('nft', ['-j', 'list', 'table', 'inet', 'ctnet']);
  } catch {
    return [];
  }
  const doc = JSON.parse(out) as { nftables: { map?: { name: string; elem?: unknown[] } }[] };
  return doc.nftables.flatMap((i) => (i.map !== undefined && i.map.name.startsWith('pub') ? (i.map.elem ?? []).map((e) => `${i.map?.name ?? ''} ${JSON.stringify(e)}`) : []));
}

/** Host-side veths whose names ctnet uses (`ct` + hex), from `ip -d link`. */
export async function ctnetVeths(): Promise<string[]> {
  const ls = JSON.parse(await sh('ip', ['-j', '-d', 'link', 'show'])) as { ifname: string; linkinfo?: { info_kind?: string } }[];
  return ls.filter((l) => l.linkinfo?.info_kind === 'veth' && l.ifname.startsWith('ct')).map((l) => l.ifname);
}

/**
 * Rows of ctnet's state database that belong to containers (endpoints, address allocations,
 * published ports), read directly so that a leak behind `ctnet ls` shows too.
 */
export function ctnetContainerRows(stateDir: string): { endpoints: number; allocations: number; ports: number } {
  const db = new Database(join(stateDir, 'ctnet.db'), { readonly: true, fileMustExist: true });
  try {
    const count = (table: string): number => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    return { endpoints: count('endpoints'), allocations: count('allocations'), ports: count('published_ports') };
  } finally {
    db.close();
  }
}

/** Addresses in the sandbox (every link) inside `cidr24` (an a.b.c.0/24 prefix), as `ifname addr/len`. */
export async function sandboxAddressesIn(cidr24: string): Promise<string[]> {
  const prefix = cidr24.replace(/0\/24$/, '');
  const ls = JSON.parse(await sh('ip', ['-j', 'addr', 'show'])) as { ifname: string; addr_info: { local: string; prefixlen: number }[] }[];
  return ls.flatMap((l) => l.addr_info.filter((a) => a.local.startsWith(prefix)).map((a) => `${l.ifname} ${a.local}/${a.prefixlen}`));
}

const HTTP_GET_JS = `
const http = require('node:http');
const [host, port] = process.argv.slice(1);
const req = http.get({ host, port: Number(port), path: '/', timeout: 3000 }, (res) => {
  let body = '';
  res.on('data', (d) => { body += d; });
  res.on('end', () => { process.stdout.write(body); process.exit(res.statusCode === 200 ? 0 : 4); });
});
req.on('timeout', () => { process.stderr.write('timeout'); process.exit(3); });
req.on('error', (e) => { process.stderr.write(e.code || String(e)); process.exit(2); });
`;

/** GET http://host:port/ from this process (the sandbox); the body, or undefined on any failure. */
export async function httpGet(host: string, port: number, timeoutMs = 3000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = request({ host, port, path: '/', timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => { resolve(res.statusCode === 200 ? body : undefined); });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => { resolve(undefined); });
    req.end();
  });
}

/** GET http://host:port/ from a named namespace (a Node client under `ip netns exec`). */
export async function httpGetFrom(ns: string, host: string, port: number): Promise<string | undefined> {
  try {
    return await sh('ip', ['netns', 'exec', ns, process.execPath, '-e', HTTP_GET_JS, host, String(port)]);
  } catch {
    return undefined;
  }
}

/** The median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}
