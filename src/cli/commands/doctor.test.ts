import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { HostError } from '../../errors.js';
import { exitCodeOf } from '../output.js';
import { formatChecks } from './doctor.js';

test('doctor prints one line per check: status, name, what was found, and the fix', () => {
  assert.equal(
    formatChecks([
      { name: 'nft', status: 'ok', message: 'nft runs' },
      { name: 'ip-forward', status: 'fail', message: 'net.ipv4.ip_forward is 0', fix: 'sysctl -w net.ipv4.ip_forward=1' },
      { name: 'rp-filter', status: 'warn', message: 'strict', fix: 'loosen it' },
    ]),
    ['ok    nft         nft runs', 'FAIL  ip-forward  net.ipv4.ip_forward is 0; fix: sysctl -w net.ipv4.ip_forward=1', 'warn  rp-filter   strict; fix: loosen it'].join('\n'),
  );
  // A failed check ends the command with the error that main.ts turns into exit status 1.
  assert.equal(exitCodeOf(new HostError('1 check failed: ip-forward')), 1);
});
