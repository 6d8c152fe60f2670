/** `dekag distill`: the options are checked before Python starts (the trainer itself: src/gsc/distill.test.ts). */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runDistill } from './distill.js';

const tmp = mkdtempSync(join(tmpdir(), 'dekag-distill-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('runDistill refuses a bad mode or device before starting Python', async () => {
  await assert.rejects(runDistill(['--subject', 'shape:star', '--out', join(tmp, 'y.dkga'), '--mode', 'dreambooth']), /--mode must be one of makd, lora, metaword/);
  await assert.rejects(runDistill(['--subject', 'shape:star', '--out', join(tmp, 'y.dkga'), '--device', 'tpu']), /--device must be cpu or cuda/);
  await assert.rejects(runDistill(['--out', join(tmp, 'y.dkga')]), /--subject is required/);
});
