/**
 * The cloud's record under a failing or hostile edge, without models: the generator and the evaluator
 * are stand-ins (the cloud's bookkeeping is what is tested), the edge is the other end of an in-process link.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { deflateSync } from 'node:zlib';
import type { Evaluator } from '../gsc/evaluate.js';
import type { Generator } from '../gsc/generate.js';
import { encodePng, type RgbImage } from '../gsc/image.js';
import { ModelStore } from '../gsc/models.js';
import { CloudRole, loadAdapterCatalog, pickAdapter } from './cloud.js';
import { linkPair, type Envelope, type Link } from './link.js';
import { packParts } from './protocol.js';
import { summarize } from './session.js';

const tmp = mkdtempSync(join(tmpdir(), 'dekag-cloud-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const IMAGE: RgbImage = { width: 32, height: 32, data: new Uint8Array(32 * 32 * 3).fill(128) };
const generator = { generate: async () => ({ image: IMAGE, latent: new Float32Array(256), noisePredictorEvals: 0, msTotal: 0 }), provider: 'cpu' } as unknown as Generator;
const evaluator = {
  judgeImages: async (imgs: RgbImage[]) => imgs.map(() => ({ embedding: new Float32Array([1, 0]), attributes: {}, confidence: {} })),
  embedPrompt: async () => new Float32Array([1, 0]),
  agreement: () => ({ agrees: true, checked: {} }),
} as unknown as Evaluator;
const PROMPT = 'a large red striped star on the left on grass';

function cloudRole(name: string): CloudRole {
  return new CloudRole({ store: ModelStore.open(), generator, evaluator, catalog: { entries: [], skipped: [] }, outDir: join(tmp, name), sessionId: 1, resultTimeoutMs: 5000 });
}
const lines = (c: CloudRole) =>
  readFileSync(c.jsonlPath, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** An edge that answers each job with `answer(job)`. */
function fakeEdge(edge: Link, answer: (job: Record<string, unknown>) => Promise<void>): void {
  edge.on('message', (e: Envelope) => {
    if (e.msg.type === 'job') void answer(e.msg);
  });
}

function resultFor(job: Record<string, unknown>, parts: Record<string, Uint8Array | undefined>) {
  const packed = packParts(parts);
  const msg = {
    type: 'result', sessionId: 1, sequence: job['sequence'], received: true, adapter: null, adapterAvailable: false, rate: 0.25, rateReason: 'fixed',
    encoderSnrDb: 10, encoderSnrSource: 'prior', configuredSnrDb: 15, measuredSnrDb: 15, symbols: 64, bitsPerSymbol: 8, frameSamples: 1000,
    crcOk: true, evmDb: -20, timings: {}, parts: packed.index,
  };
  return { msg, data: packed.data };
}

test('every prompt ends in session.jsonl: a job error is recorded as failed at once, an edge gone mid-job as lost, both with the reason', async () => {
  const cloud = cloudRole('outcomes');
  const [toEdge, edge] = linkPair('cloud', 'edge');
  fakeEdge(edge, async (job) => {
    if (job['sequence'] === 0) await edge.send({ type: 'job-error', sessionId: 1, sequence: 0, error: "unknown word 'purpel' in prompt" });
    else if (job['sequence'] === 1) await edge.close('killed');
  });
  const t0 = Date.now();
  await assert.rejects(cloud.runPrompt(toEdge, PROMPT));
  assert.ok(Date.now() - t0 < 2000, `the job error took ${Date.now() - t0} ms to be noticed (the result timeout is 5000 ms)`);
  await assert.rejects(cloud.runPrompt(toEdge, PROMPT));
  const recs = lines(cloud);
  assert.deepEqual(recs.map((r) => [r['sequence'], r['status']]), [[0, 'failed'], [1, 'lost']]);
  assert.match(String(recs[0]!['reason']), /could not run the job: unknown word 'purpel'/);
  assert.match(String(recs[1]!['reason']), /no result from the edge: link to edge closed/);
  assert.equal(recs[1]!['images'] && (recs[1]!['images'] as { cloud: string }).cloud, 'images/0001-cloud.png');
  const failures = (cloud as unknown as { failures: Parameters<typeof summarize>[2] }).failures;
  const s = summarize(cloud.records, 1, failures);
  assert.deepEqual([s.images, s.received, s.lost, s.failed], [2, 0, 1, 1]);
});

/** A PNG that declares 12000x12000 1-bit grey pixels: 18 kB of zlib that a decoder expands to >1 GB of RGBA + RGB. */
function pngBomb(side = 12000): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer): number => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer): Buffer => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'latin1');
    const tail = Buffer.alloc(4);
    tail.writeUInt32BE(crc(Buffer.concat([head.subarray(4), data])), 0);
    return Buffer.concat([head, data, tail]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 1; // bit depth
  ihdr[9] = 0; // greyscale
  const raw = Buffer.alloc(side * (1 + Math.ceil(side / 8)));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

test('a result whose PNG declares 12000x12000 pixels is refused before decoding: the prompt is recorded as failed, memory stays flat', async () => {
  const bomb = pngBomb();
  assert.ok(bomb.length < 150_000, `${bomb.length} bytes`);
  const cloud = cloudRole('bomb');
  const [toEdge, edge] = linkPair('cloud', 'edge');
  fakeEdge(edge, async (job) => {
    const { msg, data } = resultFor(job, { edgeAdapter: encodePng(IMAGE), received: bomb });
    await edge.send(msg, data);
  });
  const rss0 = process.memoryUsage().rss;
  await assert.rejects(cloud.runPrompt(toEdge, PROMPT));
  const grew = process.memoryUsage().rss - rss0;
  assert.ok(grew < 200 << 20, `RSS grew by ${(grew / 2 ** 20).toFixed(0)} MiB`);
  const recs = lines(cloud);
  assert.equal(recs.length, 1);
  assert.equal(recs[0]!['status'], 'failed');
  assert.match(String(recs[0]!['reason']), /received image of frame 0 declares 12000x12000 pixels/);
  // a well-formed result still goes through
  edge.removeAllListeners('message');
  fakeEdge(edge, async (job) => {
    const { msg, data } = resultFor(job, { edgeAdapter: encodePng(IMAGE), received: encodePng(IMAGE) });
    await edge.send(msg, data);
  });
  const ok = await cloud.runPrompt(toEdge, PROMPT);
  assert.equal(ok.received, true);
  assert.equal(lines(cloud)[1]!['status'], 'received');
});

test("the adapter catalog serves the shipped adapters, not bench makd's other training seeds", () => {
  const store = ModelStore.open();
  const shipped = join(store.dir, 'adapters');
  const dir = join(tmp, 'catalog');
  mkdirSync(join(dir, 'seed2'), { recursive: true });
  mkdirSync(join(dir, 'mine'), { recursive: true });
  copyFileSync(join(shipped, 'shape-star.makd.dkga'), join(dir, 'shape-star.makd.dkga'));
  copyFileSync(join(shipped, 'shape-star.lora.dkga'), join(dir, 'mine', 'star.dkga')); // a user's subfolder is served
  copyFileSync(join(shipped, 'shape-star.makd.dkga'), join(dir, 'seed2', 'shape-star.makd.dkga'));
  const cat = loadAdapterCatalog(store, dir);
  assert.deepEqual(cat.entries.map((e) => e.name).sort(), [join('mine', 'star.dkga'), 'shape-star.makd.dkga']);
  assert.equal(pickAdapter(cat, 'a large red star on grass', store)?.name, 'shape-star.makd.dkga');
});
