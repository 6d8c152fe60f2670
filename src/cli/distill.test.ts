/** `dekag distill`: the options are checked before Python starts (the trainer itself: src/gsc/distill.test.ts). */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadAdapter } from '../gsc/adapter.js';
import { ModelStore } from '../gsc/models.js';
import { modelsDir } from '../gsc/testing.js';
import { runDistill } from './distill.js';

const tmp = mkdtempSync(join(tmpdir(), 'dekag-distill-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('runDistill refuses a bad mode or device before starting Python', async () => {
  await assert.rejects(runDistill(['--subject', 'shape:star', '--out', join(tmp, 'y.dkga'), '--mode', 'dreambooth']), /--mode must be one of makd, lora, metaword/);
  await assert.rejects(runDistill(['--subject', 'shape:star', '--out', join(tmp, 'y.dkga'), '--device', 'tpu']), /--device must be cpu or cuda/);
  await assert.rejects(runDistill(['--out', join(tmp, 'y.dkga')]), /--subject is required/);
  await assert.rejects(runDistill(['--subject', 'shape:star', '--out', join(tmp, 'y.dkga'), '--lora-dtype', 'int8']), /--lora-dtype must be float32 or float16, got 'int8'/);
});

test('--lora-dtype float16 writes the LoRA matrices as float16 (the metaword stays float32) and the edge accepts the file', async () => {
  const out = join(tmp, 'half.dkga');
  assert.equal(await runDistill(['--subject', 'shape:star', '--out', out, '--quick', '--steps', '2', '--rank', '2', '--lora-dtype', 'float16']), 0);
  const a = loadAdapter(out, ModelStore.open(modelsDir()));
  const dtypes = new Set(a.header.tensors.filter((t) => t.name.startsWith('lora.')).map((t) => t.dtype));
  assert.deepEqual([...dtypes], ['float16']);
  assert.equal(a.header.tensors.find((t) => t.name === 'metaword')?.dtype, 'float32');
});
