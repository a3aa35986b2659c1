/**
 * Installs what the benchmark compares against, before it enters the sandbox (the sandbox has no
 * network, so apt-get cannot run inside it): containernetworking-plugins, netavark, iptables,
 * iperf3, iputils-ping and time, each only when missing, and says so loudly. A failed install is
 * reported and the benchmark goes on; main.ts then skips the rows that need it, loudly too.
 * Run by `npm run bench` as root; `--check` only reports.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { TOOLS, toolMissing } from './tools.js';

const checkOnly = process.argv.includes('--check');
const missing = TOOLS.filter((t) => toolMissing(t).length > 0);
if (missing.length === 0) {
  console.log('bench: every tool it compares against is installed (' + TOOLS.map((t) => t.pkg).join(', ') + ')');
} else if (checkOnly || process.getuid?.() !== 0) {
  for (const t of missing) console.error(`bench: !!! MISSING ${t.name} (${toolMissing(t).join(', ')}), Debian package ${t.pkg}; needed by ${t.usedBy}`);
} else {
  const pkgs = [...new Set(missing.map((t) => t.pkg))];
  const banner = '!'.repeat(78);
  console.error(`${banner}\nbench: INSTALLING Debian packages: ${pkgs.join(' ')}\n${missing.map((t) => `  ${t.name}: needed by ${t.usedBy}`).join('\n')}\n${banner}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  const install = update.status === 0 ? spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], { stdio: 'inherit', env }) : update;
  if (install.status !== 0) {
    console.error(`${banner}\nbench: INSTALL FAILED (apt-get exit ${String(install.status)}); the rows that need ${pkgs.join(', ')} will be skipped\n${banner}`);
  } else {
    const still = TOOLS.filter((t) => toolMissing(t).length > 0);
    console.error(still.length === 0 ? `bench: installed ${pkgs.join(' ')}` : `bench: still missing after install: ${still.map((t) => t.name).join(', ')}`);
  }
}
