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

test('by default the low-rank matrices are float16 (the metaword stays float32); --lora-dtype float32 and --conv-rank reach the trainer', async () => {
  const store = ModelStore.open(modelsDir());
  const dtypes = (a: ReturnType<typeof loadAdapter>) => [...new Set(a.header.tensors.filter((t) => t.name.startsWith('lora.')).map((t) => t.dtype))];
  const half = join(tmp, 'half.dkga');
  assert.equal(await runDistill(['--subject', 'shape:star', '--out', half, '--quick', '--steps', '2', '--rank', '2']), 0);
  const a = loadAdapter(half, store);
  assert.deepEqual(dtypes(a), ['float16']);
  assert.equal(a.header.tensors.find((t) => t.name === 'metaword')?.dtype, 'float32');
  assert.equal(a.header.conv_rank, 8);
  const full = join(tmp, 'full.dkga');
  assert.equal(await runDistill(['--subject', 'shape:star', '--out', full, '--quick', '--steps', '2', '--rank', '2', '--conv-rank', '3', '--lora-dtype', 'float32']), 0);
  const b = loadAdapter(full, store);
  assert.deepEqual(dtypes(b), ['float32']);
  assert.equal(b.header.conv_rank, 3);
  assert.deepEqual(b.tensors.get('lora.conv.conv_in.a')?.dims, [3, 4, 3, 3]);
});
