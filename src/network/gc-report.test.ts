import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { describeGcReport, type GcReport } from './gc-report.js';

const RELEASE = { kind: 'release-endpoint', subject: 'endpoint "c1" (eth0) on network "net1"', reason: 'its network namespace is gone', id: 'e1' } as const;
const LINK = { kind: 'remove-link', subject: 'link ct0a0a0a0a0a0a', reason: 'no record names it', id: '0a0a0a0a0a0a' } as const;

test('describeGcReport() says what was done, what failed and what was left to a live process', () => {
  const report: GcReport = { dryRun: false, actions: [RELEASE, { ...LINK, error: 'RTM_DELLINK ct0a0a0a0a0a0a failed: EPERM' }], inProgress: [{ ...RELEASE, kind: 'remove-endpoint', subject: 'endpoint "c2" (eth0) on network "net1"' }] };
  assert.deepEqual(describeGcReport(report), [
    'released endpoint "c1" (eth0) on network "net1": its network namespace is gone',
    'failed to remove link ct0a0a0a0a0a0a: RTM_DELLINK ct0a0a0a0a0a0a failed: EPERM',
    'left endpoint "c2" (eth0) on network "net1" alone: a live process is working on it',
  ]);
});

test('describeGcReport() of a dry run says what would be done; of nothing, that there was nothing', () => {
  assert.deepEqual(describeGcReport({ dryRun: true, actions: [RELEASE, LINK], inProgress: [] }), [
    'would release endpoint "c1" (eth0) on network "net1": its network namespace is gone',
    'would remove link ct0a0a0a0a0a0a: no record names it',
  ]);
  assert.deepEqual(describeGcReport({ dryRun: false, actions: [], inProgress: [] }), ['nothing to collect']);
});
