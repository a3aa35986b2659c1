/**
 * Everything of the kernel the engine touches, behind narrow interfaces: the host's rtnetlink
 * handle, the container namespaces (and a handle in each), the host's sysctls and its bound
 * sockets. {@link HostKernel} is the real kernel; the engine's unit tests give an in-memory fake
 * (`fake-kernel.ts`), so they never need root and never touch the host.
 * @module
 */
import { type Rtnl, RtnlHandle } from '../netlink/rtnl/handle.js';
import { type NetnsAccess, ownNetnsAccess, ownSysctls, type SysctlAccess } from '../netns/netns.js';
import { type HostSocket, hostSockets } from './host-probes.js';

/** The kernel as the engine and its drivers use it. */
export interface Kernel {
  /** rtnetlink in the namespace ctnet runs in (the host's). */
  readonly host: Rtnl;
  /** The containers' namespaces. */
  readonly netns: NetnsAccess;
  /** The sysctls of the namespace ctnet runs in. */
  readonly sysctls: SysctlAccess;
  /** The sockets bound in the namespace ctnet runs in, of these protocols (for published ports). */
  hostSockets(protocols: ReadonlySet<'tcp' | 'udp'>): HostSocket[];
  /** Release what it holds open (the host's handle). */
  close(): void;
}

/** The real kernel. The host's handle is opened at first use: listing networks needs no socket. */
export class HostKernel implements Kernel {
  readonly netns = ownNetnsAccess;
  readonly sysctls = ownSysctls;
  #host: RtnlHandle | undefined;

  get host(): Rtnl {
    this.#host ??= RtnlHandle.open();
    return this.#host;
  }

  hostSockets(protocols: ReadonlySet<'tcp' | 'udp'>): HostSocket[] {
    return hostSockets(protocols);
  }

  close(): void {
    this.#host?.close();
    this.#host = undefined;
  }
}
