/**
 * Issue 16, point 10: the deploy toast's Copy curl runs as copied (shell quoting, one row of the
 * signature from the config's data, no token), and Send Test Request's prediction reads well.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { curlCommand, predictionText } from '../../../extension/text/testRequest';
import { oneRow } from '../../../server/lsp/handlers/endpoint';
import type { ModelOpsConfig } from '../../../server/engine/config/types';
import type { Signature } from '../../../server/engine/registry/types';

const signature: Signature = {
  inputs: [
    { name: 'temp_max', datatype: 'FP32', shape: [-1, 1] },
    { name: "it's", datatype: 'BYTES', shape: [-1, 1] },
  ],
  outputs: [{ name: 'label', datatype: 'BYTES', shape: [-1] }],
};

test('one row of the signature comes from the first complete data row; placeholders without data', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'modelops-testreq-'));
  try {
    writeFileSync(join(dir, 'd.csv'), "temp_max,it's,weather\n,x,sun\n12.5,O'Brien,rain\n");
    const config = { data: { train: 'd.csv' } } as unknown as ModelOpsConfig;
    const { body, rowSource } = await oneRow(signature, config, dir);
    assert.equal(rowSource, 'd.csv');
    assert.deepEqual(body.inputs, [
      { name: 'temp_max', datatype: 'FP32', shape: [1, 1], data: [12.5] },
      { name: "it's", datatype: 'BYTES', shape: [1, 1], data: ["O'Brien"] },
    ]);
    assert.deepEqual(body.parameters, { modelops_log: false });
    const none = await oneRow(signature, { data: { train: 'missing.csv' } } as unknown as ModelOpsConfig, dir);
    assert.equal(none.rowSource, 'placeholder values');
    assert.deepEqual(
      none.body.inputs.map((i) => i.data[0]),
      [0, ''],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  'the copied curl, run by a shell, sends the body as built and no token',
  { skip: !hasCurl() && 'curl is not installed' },
  async () => {
    let got: { url?: string; auth?: string; type?: string; body: string } = { body: '' };
    const server = createServer((req, res) => {
      let b = '';
      req.on('data', (c: Buffer) => (b += c.toString('utf8')));
      req.on('end', () => {
        got = { url: req.url, auth: req.headers.authorization, type: req.headers['content-type'], body: b };
        res.end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const url = `http://127.0.0.1:${port}/v2/models/weather/versions/1.1.0/infer`;
      const body = {
        inputs: [{ name: "it's", datatype: 'BYTES', shape: [1, 1], data: ["O'Brien $HOME `x`"] }],
        parameters: { modelops_log: false as const },
      };
      const cmd = curlCommand({ url, body });
      assert.doesNotMatch(cmd, /Bearer [A-Za-z0-9]{8,}/, 'no token in the command');
      // Async: the server answering is in this process.
      await promisify(execFile)('sh', ['-c', cmd], {
        env: { PATH: process.env.PATH ?? '', MODELOPS_TOKEN: 'tok-from-env' },
        timeout: 30_000,
      });
      assert.equal(got.url, '/v2/models/weather/versions/1.1.0/infer');
      assert.equal(got.auth, 'Bearer tok-from-env');
      assert.equal(got.type, 'application/json');
      assert.deepEqual(JSON.parse(got.body), body);
    } finally {
      server.close();
    }
  },
);

test('a test prediction reads as label, top probability and time, or as the value', () => {
  const base = { url: 'u', body: { inputs: [], parameters: { modelops_log: false as const } }, rowSource: 'd.csv' };
  assert.equal(
    predictionText({ ...base, prediction: { value: 'rain', probabilities: [0.1, 0.85, 0.05] }, latencyMs: 3.4 }),
    'rain (p 0.850) in 3 ms',
  );
  assert.equal(predictionText({ ...base, prediction: { value: 12.3456789 } }), '12.3457');
  assert.equal(predictionText(base), 'no prediction');
});

function hasCurl(): boolean {
  try {
    execFileSync('curl', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
