/**
 * The whole `ctnet` command tree: the program with every command registered, without running it.
 * @module
 */
import { register as registerDaemon } from './commands/daemon.js';
import { register as registerDoctor } from './commands/doctor.js';
import { register as registerEndpoint } from './commands/endpoint.js';
import { register as registerGc } from './commands/gc.js';
import { register as registerInstallCni } from './commands/install-cni.js';
import { register as registerNetns } from './commands/netns.js';
import { register as registerNetwork } from './commands/network.js';
import { createProgram, type Program } from './program.js';

/** Build the program; commander errors are thrown (exitOverride), never exit the process. */
export function buildProgram(version: string): Program {
  const program = createProgram(version).exitOverride();
  registerNetns(program);
  registerNetwork(program);
  registerEndpoint(program);
  registerInstallCni(program);
  registerDaemon(program, version);
  registerDoctor(program);
  registerGc(program);
  return program;
}
