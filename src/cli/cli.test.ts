/** The `dekag` command as a user runs it: real process, real files, exit codes and messages. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodePng } from '../gsc/image.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const bin = join(root, 'bin', 'dekag.js');
const tmp = mkdtempSync(join(tmpdir(), 'dekag-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function dekag(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, DEKAG_MODELS_DIR: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('--help lists the commands', () => {
  const r = dekag('--help');
  assert.equal(r.code, 0);
  for (const c of ['demo', 'generate', 'eval', 'bench']) assert.match(r.stdout, new RegExp(`\\n  ${c} `));
});

test('an unknown command or flag is a usage error', () => {
  assert.equal(dekag('fly').code, 2);
  const r = dekag('generate', '--role', 'cloud', '--prompt', 'a red star', '--out', join(tmp, 'x.png'), '--colour', 'red');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Unknown option '--colour'/);
});

test('bad prompts fail before any model loads, naming the problem', () => {
  const out = join(tmp, 'bad.png');
  let r = dekag('generate', '--role', 'cloud', '--prompt', 'a purpel star', '--out', out);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown word 'purpel' in prompt; did you mean 'purple'/);
  r = dekag('generate', '--role', 'cloud', '--prompt', '', '--out', out);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--prompt is required|empty prompt/);
  r = dekag('generate', '--role', 'edge', '--prompt', 'red '.repeat(40), '--out', out);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /prompt has 40 words; at most 15/);
  r = dekag('generate', '--role', 'moon', '--prompt', 'a red star', '--out', out);
  assert.match(r.stderr, /--role must be 'cloud' or 'edge'/);
  r = dekag('generate', '--role', 'cloud', '--prompt', 'a red star', '--out', out, '--steps', '0');
  assert.match(r.stderr, /--steps must be an integer from 1/);
  assert.equal(existsSync(out), false);
});

test('a missing or corrupt model file is refused with a clear message', () => {
  const dir = mkdtempSync(join(tmp, 'models-'));
  for (const f of readdirSync(join(root, 'models'))) if (f.endsWith('.json')) copyFileSync(join(root, 'models', f), join(dir, f));
  const out = join(tmp, 'none.png');
  let r = dekag('generate', '--role', 'cloud', '--prompt', 'a red star', '--out', out, '--models', dir);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /text_encoder\.onnx is missing|cloud_gai\.onnx is missing|autoencoder_decoder\.onnx is missing/);
  for (const f of ['text_encoder.onnx', 'cloud_gai.onnx', 'autoencoder_decoder.onnx']) copyFileSync(join(root, 'models', f), join(dir, f));
  writeFileSync(join(dir, 'cloud_gai.onnx'), readFileSync(join(root, 'models', 'cloud_gai.onnx')).subarray(0, 1000));
  r = dekag('generate', '--role', 'cloud', '--prompt', 'a red star', '--out', out, '--models', dir);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cloud_gai\.onnx has sha256 .* manifest\.json expects/);
  assert.equal(existsSync(out), false);
});

test('generate writes a 32x32 PNG, deterministic for a seed; eval scores it', () => {
  const a = join(tmp, 'a.png');
  const b = join(tmp, 'b.png');
  const c = join(tmp, 'c.png');
  const args = ['generate', '--role', 'cloud', '--prompt', 'a large red circle on sand', '--steps', '8', '--json'];
  const r = dekag(...args, '--seed', '3', '--out', a);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as { provider: string; ms_total: number };
  assert.equal(summary.provider, 'cpu');
  assert.equal(dekag(...args, '--seed', '3', '--out', b).code, 0);
  assert.equal(dekag(...args, '--seed', '4', '--out', c).code, 0);
  const [ia, ib, ic] = [a, b, c].map((p) => decodePng(readFileSync(p)));
  assert.equal(ia!.width, 32);
  assert.deepEqual(ia!.data, ib!.data);
  assert.notDeepEqual(ia!.data, ic!.data);

  const e = dekag('eval', '--image', a, '--prompt', 'a large red circle on sand', '--reference', c, '--json');
  assert.equal(e.code, 0, e.stderr);
  const scores = JSON.parse(e.stdout) as Record<string, unknown>;
  for (const k of ['image_text_score', 'image_image_score', 'consistency', 'attributes', 'prompt_agreement']) assert.ok(k in scores, k);
  const self = JSON.parse(dekag('eval', '--image', a, '--prompt', 'a large red circle on sand', '--reference', a, '--json').stdout) as { image_image_score: number };
  assert.ok(Math.abs(self.image_image_score - 1) < 1e-3, 'an image is identical to itself');
});

test('eval rejects a file that is not a PNG', () => {
  const junk = join(tmp, 'junk.png');
  writeFileSync(junk, 'GIF89a');
  const r = dekag('eval', '--image', junk, '--prompt', 'a red star');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /junk\.png is not a readable PNG/);
});

test('demo (the main job) runs a session and writes its report, summary and images', () => {
  const dir = join(tmp, 'demo');
  const prompts = join(tmp, 'demo-prompts.txt');
  writeFileSync(prompts, '# two prompts\na large red striped star on grass\ntwo cyan rings on sand\n');
  const r = dekag('demo', '--out', dir, '--json', '--prompts', prompts, '--snr', '15', '--rate', '1/4');
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as Record<string, number>;
  assert.equal(summary['images'], 2);
  for (const k of ['mean_consistency', 'mean_psnr_db', 'snr_est_rmse_db', 'bytes_over_air_per_image', 'png_bytes_per_image', 'ms_per_image']) {
    assert.ok(Number.isFinite(summary[k]), `summary.${k} = ${summary[k]}`);
  }
  // rate 1/4 = 64 points of 256-QAM = 64 bytes over the air, far below the PNG
  assert.equal(summary['bytes_over_air_per_image'], 64);
  assert.ok(summary['png_bytes_per_image']! > summary['bytes_over_air_per_image']!);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')), summary);
  assert.match(readFileSync(join(dir, 'report.html'), 'utf8'), /a large red striped star on grass/);
  for (const kind of ['cloud', 'edge-base', 'edge-adapter', 'received']) {
    const png = decodePng(readFileSync(join(dir, 'images', `0001-${kind}.png`)));
    assert.deepEqual([png.width, png.height], [32, 32]);
  }
});

test('bench generate --quick reports the fields the issue asks for, for every subject group', () => {
  // Whether the misaligned subjects score lower is measured by the full bench (48 + 5 x 24 prompts,
  // docs/benchmarks.md); four prompts a group, as here, are too few to decide it.
  const r = dekag('bench', 'generate', '--quick', '--json', '--steps', '10');
  assert.equal(r.code, 0, r.stderr);
  const b = JSON.parse(r.stdout) as {
    cloud_ms_per_image: number; edge_ms_per_image: number; provider: string; heldout_prompts: number;
    prompt_accuracy: { cloud: number; edge: number };
    consistency: { aligned_subjects: number; misaligned_subjects: number; cloud_ceiling: number; per_subject: Record<string, { n: number; edge_vs_cloud: number }> };
  };
  assert.ok(b.cloud_ms_per_image > 0 && b.edge_ms_per_image > 0);
  assert.equal(b.provider, 'cpu');
  assert.equal(b.heldout_prompts, 24);
  for (const v of [b.prompt_accuracy.cloud, b.prompt_accuracy.edge]) assert.ok(v >= 0 && v <= 1);
  const groups = Object.keys(b.consistency.per_subject).sort();
  assert.deepEqual(groups, ['aligned', 'background:snow', 'colour:purple', 'shape:heart', 'shape:star', 'texture:striped']);
  for (const g of Object.values(b.consistency.per_subject)) {
    assert.equal(g.n, 4);
    assert.ok(g.edge_vs_cloud > -2 && g.edge_vs_cloud <= 2);
  }
  const misaligned = groups.filter((g) => g !== 'aligned').map((g) => b.consistency.per_subject[g]!.edge_vs_cloud);
  assert.ok(Math.abs(b.consistency.misaligned_subjects - misaligned.reduce((a, x) => a + x, 0) / 5) < 1e-3, 'the misaligned figure is the mean of the five subjects');
});
