import { test } from 'node:test';
import { Ctnet } from '../../src/index.js';
import { cniExec, ctnetStateDir, newNetns, sandboxSkipReason } from '../helpers/sandbox.js';

test('probe: ADD while another process is creating the network', { skip: sandboxSkipReason() }, async (t) => {
  const stateDir = ctnetStateDir(t);
  const ns = await newNetns(t, 'r');
  const conf = { cniVersion: '1.1.0', name: 'race1', type: 'ctnet', subnets: ['10.88.60.0/24'], stateDir };
  let out = '';
  const ct = Ctnet.open({
    stateDir,
    onStep: async (step) => {
      if (step !== 'state') return;
      const r = await cniExec(stateDir, { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'x', CNI_NETNS: `/run/netns/${ns}`, CNI_IFNAME: 'eth0' }, conf);
      out = `exit ${r.code} ${r.stdout}`;
    },
  });
  t.after(() => ct.close());
  await ct.createNetwork({ name: 'race1', subnets: ['10.88.60.0/24'] });
  t.diagnostic(out);
});
