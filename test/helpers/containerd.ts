/**
 * A private containerd 1.6 (Debian's) for integration tests, driven with `ctr run --cni` and ctnet
 * as the plugin of the one network in its CNI config directory.
 *
 * Everything containerd, its shims, runc and ctr write stays under one temporary directory inside
 * the sandbox's state tmpfs: containerd's own config (root, state, socket, the `opt` plugin's dir),
 * the CNI config and plugin directories, the ctnet state directory and the image. A few places are
 * fixed in containerd 1.6 and ctr and cannot be configured: the shims' sockets (/run/containerd/s),
 * runc's root (/run/containerd/runc), ctr's fifos (/run/containerd/fifo), ctr's CNI directories
 * (/etc/cni/net.d, /opt/cni/bin) and libcni's cache (/var/lib/cni). They are made private in a mount
 * namespace of the lab's own (nested inside the sandbox's), held by one `unshare` process that
 * containerd and every ctr command join with `nsenter --mount`:
 *  - /etc, /opt, /var/lib and /run are overlaid with upper layers in the temporary directory, so the
 *    mount points below can be made without changing the host, and /run/netns, the sandbox's tmpfs,
 *    is moved back on top;
 *  - the lab's CNI config and plugin directories are bind-mounted over /etc/cni/net.d and
 *    /opt/cni/bin, and a tmpfs over /var/lib/cni.
 * Cgroups are global, not namespaced: containers run under CGROUP_PARENT, removed in close().
 *
 * ctr 1.6 runs CNI DEL only from a `ctr run` in the foreground, when the container's task exits
 * (`ctr run -d` never calls DEL), so every container is a foreground `ctr run --rm` child process:
 * killing its task makes that ctr call DEL, delete the task and the container, and exit.
 * Set CTNET_CONTAINERD_DEBUG=1 to run containerd with `--log-level debug` and its log on stderr.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRootfsTar, findExecutable, labToolsSkipReason, removeEmptyCgroups } from './podman.js';
import { CNI_PLUGIN, removeAllCtnetObjects, sandboxSkipReason, sh, waitForReady } from './sandbox.js';

export const CTR_IMAGE = 'localhost/bb:latest';
/** ctr's namespace for the lab's containers; CNI sees `NAMESPACE-NAME` as the container id. */
export const CTR_NAMESPACE = 'ctnettest';
export const CTR_CGROUP_PARENT = '/ctnetctr';
/** The network in the lab's CNI config directory, whose plugin is ctnet. */
export const CTR_NET = { name: 'ctctr', subnet: '10.94.0.0/24', gateway: '10.94.0.1', bridge: 'ctctr0' } as const;

/** Why the containerd tests cannot run here, or undefined when they can. */
export function containerdSkipReason(): string | undefined {
  const sandbox = sandboxSkipReason();
  if (sandbox !== undefined) return sandbox;
  for (const tool of ['containerd', 'ctr', 'containerd-shim-runc-v2']) {
    if (findExecutable(tool) === undefined) return `${tool} is not installed (scripts/install-deps.sh installs containerd)`;
  }
  if (findExecutable('runc', ['/usr/sbin', '/sbin']) === undefined) return 'runc is not installed (a dependency of Debian\'s containerd)';
  return labToolsSkipReason();
}

export interface CtrResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Sets up the lab's mount namespace, prints `ready`, then waits until its stdin closes. */
const HOLDER_SH = `
set -eu
T=$1
ov() { mkdir -p "$T/ov/$2/up" "$T/ov/$2/work"; mount -t overlay "ctnet-ctr-$2" -o "lowerdir=$1,upperdir=$T/ov/$2/up,workdir=$T/ov/$2/work" "$1"; }
ov /etc etc
ov /opt opt
ov /var/lib varlib
mkdir -p "$T/ov/netns"
mount --bind /run/netns "$T/ov/netns"
ov /run run
mount --move "$T/ov/netns" /run/netns
mkdir -p /etc/cni/net.d /opt/cni/bin /var/lib/cni
mount --bind "$T/cni/net.d" /etc/cni/net.d
mount --bind "$T/cni/bin" /opt/cni/bin
mount -t tmpfs ctnet-ctr-cni /var/lib/cni
echo ready
read -r _ || true
`;

function containerdConfig(dir: string): string {
  const q = JSON.stringify;
  // No CRI (it would serve Kubernetes and read CNI configs of its own) and no snapshotters but overlayfs.
  const disabled = ['io.containerd.grpc.v1.cri', 'io.containerd.snapshotter.v1.aufs', 'io.containerd.snapshotter.v1.btrfs', 'io.containerd.snapshotter.v1.devmapper', 'io.containerd.snapshotter.v1.zfs'];
  return `version = 2
root = ${q(join(dir, 'root'))}
state = ${q(join(dir, 'state'))}
disabled_plugins = ${q(disabled)}

[grpc]
  address = ${q(join(dir, 'containerd.sock'))}

[plugins."io.containerd.internal.v1.opt"]
  path = ${q(join(dir, 'opt'))}
`;
}

function ctnetConflist(stateDir: string): object {
  // containerd 1.6's libcni knows CNI versions up to 1.0.0.
  return { cniVersion: '1.0.0', name: CTR_NET.name, plugins: [{ type: 'ctnet', subnets: [CTR_NET.subnet], bridge: CTR_NET.bridge, stateDir }] };
}

const OCI_ARCH: Readonly<Record<string, string>> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' };

/** Write `data` as a content-addressed blob of an OCI image layout; its descriptor. */
function writeBlob(layout: string, mediaType: string, data: Buffer): { mediaType: string; digest: string; size: number } {
  const hex = createHash('sha256').update(data).digest('hex');
  writeFileSync(join(layout, 'blobs/sha256', hex), data);
  return { mediaType, digest: `sha256:${hex}`, size: data.length };
}

/**
 * The busybox rootfs as an OCI image layout tarball (one uncompressed layer) named CTR_IMAGE, for
 * `ctr image import`: no registry involved.
 */
async function buildImageTar(dir: string): Promise<string> {
  const layer = readFileSync(await buildRootfsTar(dir));
  const layout = join(dir, 'oci');
  mkdirSync(join(layout, 'blobs/sha256'), { recursive: true });
  const layerDesc = writeBlob(layout, 'application/vnd.oci.image.layer.v1.tar', layer);
  const config = {
    architecture: OCI_ARCH[process.arch] ?? process.arch,
    os: 'linux',
    config: { Env: ['PATH=/bin'], Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: [layerDesc.digest] },
  };
  const configDesc = writeBlob(layout, 'application/vnd.oci.image.config.v1+json', Buffer.from(JSON.stringify(config)));
  const manifest = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: configDesc, layers: [layerDesc] };
  const manifestDesc = writeBlob(layout, 'application/vnd.oci.image.manifest.v1+json', Buffer.from(JSON.stringify(manifest)));
  // containerd names the imported image after io.containerd.image.name.
  const index = { schemaVersion: 2, manifests: [{ ...manifestDesc, annotations: { 'io.containerd.image.name': CTR_IMAGE, 'org.opencontainers.image.ref.name': 'latest' } }] };
  writeFileSync(join(layout, 'index.json'), JSON.stringify(index));
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const tar = join(dir, 'image.tar');
  await sh('tar', ['-C', layout, '-cf', tar, 'oci-layout', 'index.json', 'blobs']);
  return tar;
}

/** A container run by a foreground `ctr run --rm --cni`. */
export interface CtrContainer {
  readonly name: string;
  /** The id ctr hands the CNI plugin (CNI_CONTAINERID). */
  readonly cniId: string;
  /** Settles when that ctr exits: after DEL and the container's removal. */
  readonly exited: Promise<CtrResult>;
}

/** The running lab: containerd, ctr commands, containers, the ctnet state directory, cleanup. */
export class ContainerdLab {
  readonly dir: string;
  readonly stateDir: string;
  readonly #holder: ChildProcess;
  readonly #debug = process.env['CTNET_CONTAINERD_DEBUG'] === '1';
  #containerd: ChildProcess | undefined;
  /** The tail of containerd's log, for errors. */
  #log = '';
  readonly #running = new Map<string, CtrContainer>();
  #execs = 0;

  private constructor(dir: string, holder: ChildProcess) {
    this.dir = dir;
    this.stateDir = join(dir, 'ctnet-state');
    this.#holder = holder;
  }

  /** Set up the private mount namespace, start containerd in it and import the image. */
  static async start(): Promise<ContainerdLab> {
    const dir = mkdtempSync(join(process.env['CTNET_STATE_DIR'] ?? tmpdir(), 'containerd-'));
    for (const d of ['cni/net.d', 'cni/bin', 'root', 'state', 'opt', 'ctnet-state']) mkdirSync(join(dir, d), { recursive: true });
    writeFileSync(join(dir, 'config.toml'), containerdConfig(dir));
    writeFileSync(join(dir, 'cni/net.d', `10-${CTR_NET.name}.conflist`), JSON.stringify(ctnetConflist(join(dir, 'ctnet-state'))));
    // README.md's wrapper: absolute paths, so the plugin does not depend on the runtime's PATH.
    writeFileSync(join(dir, 'cni/bin/ctnet'), `#!/bin/sh\nexec ${process.execPath} ${CNI_PLUGIN} "$@"\n`, { mode: 0o755 });

    const holder = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', HOLDER_SH, 'ctnet-containerd-lab', dir], { stdio: ['pipe', 'pipe', 'pipe'] });
    const lab = new ContainerdLab(dir, holder);
    try {
      await waitForReady(holder, 'containerd lab namespace setup');
      await lab.#startContainerd();
      await lab.ok(['image', 'import', await buildImageTar(dir)]);
    } catch (err) {
      await lab.close();
      throw err;
    }
    return lab;
  }



  #holderPid(): number {
    const pid = this.#holder.pid;
    if (pid === undefined || this.#holder.exitCode !== null || this.#holder.signalCode !== null) throw new Error('containerd lab namespace is gone');
    return pid;
  }

  /** Start containerd (nsenter execs it: the child's pid is containerd's) and wait until it answers. */
  async #startContainerd(): Promise<void> {
    const args = ['-t', String(this.#holderPid()), '-m', '--', 'containerd', '--config', join(this.dir, 'config.toml'), ...(this.#debug ? ['--log-level', 'debug'] : [])];
    const child = spawn('nsenter', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#containerd = child;
    const keep = (d: Buffer): void => {
      if (this.#debug) process.stderr.write(d);
      this.#log = (this.#log + d.toString()).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`containerd exited with ${String(child.exitCode ?? child.signalCode)}: ${this.#log.trim()}`);
      const version = await this.ctr(['version']);
      if (version.code === 0) return;
      if (Date.now() > deadline) throw new Error(`containerd did not answer on its socket within 10 s: ${version.stderr.trim()}; log: ${this.#log.trim()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  #ctrArgv(args: readonly string[]): string[] {
    return ['-t', String(this.#holderPid()), '-m', '--', 'ctr', '--address', join(this.dir, 'containerd.sock'), '--namespace', CTR_NAMESPACE, ...args];
  }

  /** Run `ctr ARGS` inside the lab; throws only when the lab is gone, not when ctr fails. */
  async ctr(args: readonly string[]): Promise<CtrResult> {
    const child = spawn('nsenter', this.#ctrArgv(args), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code] = (await once(child, 'close')) as [number | null];
    return { code: code ?? -1, stdout, stderr };
  }

  /** Run `ctr ARGS`; its stdout, or an error carrying its stderr. */
  async ok(args: readonly string[]): Promise<string> {
    const r = await this.ctr(args);
    if (r.code !== 0) throw new Error(`ctr ${args.join(' ')} exited with ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** Task names and statuses, from `ctr task ls`. */
  async tasks(): Promise<Map<string, string>> {
    const lines = (await this.ok(['task', 'ls'])).trim().split('\n').slice(1);
    return new Map(lines.filter((l) => l.trim() !== '').map((l) => {
      const [name, , status] = l.trim().split(/\s+/);
      return [name ?? '', status ?? ''];
    }));
  }

  /**
   * `ctr run --rm --cni` of `cmd` in a container `name`, in the foreground of a child process;
   * resolves once the task runs (CNI ADD has then succeeded: ctr runs it before starting the task).
   */
  async run(name: string, cmd: readonly string[]): Promise<CtrContainer> {
    const argv = this.#ctrArgv(['run', '--rm', '--cni', '--null-io', '--cgroup', `${CTR_CGROUP_PARENT}/${name}`, CTR_IMAGE, name, ...cmd]);
    const child = spawn('nsenter', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = once(child, 'close').then(
      ([code]) => ({ code: (code as number | null) ?? -1, stdout, stderr }),
      (err: unknown) => ({ code: -1, stdout, stderr: `${stderr}${String(err)}` }),
    );
    const container: CtrContainer = { name, cniId: `${CTR_NAMESPACE}-${name}`, exited };
    this.#running.set(name, container);
    void exited.then(() => this.#running.delete(name));
    const deadline = Date.now() + 10_000;
    for (;;) {
      const settled = await Promise.race([exited, new Promise<undefined>((r) => setTimeout(r, 100, undefined))]);
      if (settled !== undefined) throw new Error(`ctr run ${name} exited with ${settled.code} before its task ran: ${settled.stderr.trim()}`);
      if ((await this.tasks()).get(name) === 'RUNNING') return container;
      if (Date.now() > deadline) throw new Error(`the task of ${name} is not running 10 s after ctr run`);
    }
  }

  /** `ctr task exec` of `cmd` in a running container: its result, whatever the exit code. */
  async exec(name: string, cmd: readonly string[]): Promise<CtrResult> {
    return this.ctr(['task', 'exec', '--exec-id', `x${this.#execs++}`, name, ...cmd]);
  }

  /**
   * Kill a container's task with SIGKILL (busybox as PID 1 ignores SIGTERM) and wait for its ctr:
   * CNI DEL, task and container deleted. ctr exits with the task's status, 137.
   */
  async remove(container: CtrContainer): Promise<CtrResult> {
    await this.ok(['task', 'kill', '--signal', 'SIGKILL', container.name]);
    return container.exited;
  }

  /**
   * Remove every container, stop containerd by its pid, end the lab's mount namespace, undo what
   * ctnet left in the sandbox (its networks), remove the cgroups under CTR_CGROUP_PARENT and delete
   * the directory.
   */
  async close(): Promise<void> {
    const failures: string[] = [];
    /** True when `p` settles within `ms`; otherwise records `what` as a failure. */
    const within = async (p: Promise<unknown>, ms: number, what: string): Promise<boolean> => {
      let timer: NodeJS.Timeout | undefined;
      const done = await Promise.race([p.then(() => true), new Promise<false>((r) => (timer = setTimeout(r, ms, false)))]);
      clearTimeout(timer);
      if (!done) failures.push(`${what} did not finish within ${ms} ms`);
      return done;
    };
    const containerd = this.#containerd;
    if (containerd !== undefined && containerd.exitCode === null && containerd.signalCode === null) {
      for (const c of [...this.#running.values()]) {
        await this.ok(['task', 'kill', '--signal', 'SIGKILL', c.name]).catch((err: unknown) => failures.push(String(err)));
        await within(c.exited, 10_000, `ctr run ${c.name}`);
      }
      // Whatever a failed run left (a container whose ctr died before its task started).
      const left = await this.ctr(['container', 'ls', '--quiet']);
      for (const name of left.stdout.split('\n').filter((n) => n !== '')) {
        await this.ctr(['task', 'delete', '--force', name]);
        await this.ctr(['container', 'delete', name]).then((r) => r.code === 0 || failures.push(`ctr container delete ${name}: ${r.stderr.trim()}`));
      }
      const exited = once(containerd, 'exit');
      if (containerd.pid !== undefined) process.kill(containerd.pid, 'SIGTERM');
      if (!(await within(exited, 5000, 'containerd stopping')) && containerd.pid !== undefined) process.kill(containerd.pid, 'SIGKILL');
    }
    if (this.#holder.exitCode === null && this.#holder.signalCode === null) {
      const exited = once(this.#holder, 'exit');
      this.#holder.stdin?.end();
      if (!(await within(exited, 3000, 'the lab namespace holder')) && this.#holder.pid !== undefined) process.kill(this.#holder.pid, 'SIGKILL');
    }
    await removeAllCtnetObjects(this.stateDir).catch((err: unknown) => failures.push(String(err)));
    // runc removes a container's cgroup with the container, but not the parent.
    removeEmptyCgroups(CTR_CGROUP_PARENT);
    rmSync(this.dir, { recursive: true, force: true });
    if (failures.length > 0) throw new Error(`containerd lab cleanup: ${failures.join('; ')}`);
  }
}
