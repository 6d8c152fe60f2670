import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FakeIiodServer } from './iio/fakes/iiod-server.js';
import { FakePluto, fakePlutoRxSample, type FakePlutoOptions } from './fakes/iiod-pluto.js';
import { IiodCommandError, IiodConnection } from './iio/iiod-client.js';
import { PLUTO_RX_GAIN, PLUTO_TX_GAIN, PlutoDevice, convertS16Words, parsePlutoAddress } from './pluto.js';
import { createDevice, loadDriverModules, registeredDrivers } from './registry.js';
import { DeviceConfigError, DeviceGoneError, DeviceIoError, type IqBlock } from './types.js';

async function withFake(
  fn: (pluto: PlutoDevice, fake: FakePluto, server: FakeIiodServer) => Promise<void>,
  opts: FakePlutoOptions = {},
  plutoOpts: { txBlockSamples?: number } = {},
): Promise<void> {
  const fake = new FakePluto(opts);
  const server = new FakeIiodServer(fake);
  const port = await server.start();
  const pluto = new PlutoDevice({ host: '127.0.0.1', port, timeoutMs: 2000, ...plutoOpts });
  try {
    await pluto.open();
    await fn(pluto, fake, server);
  } finally {
    await pluto.close();
    await server.close();
  }
}

test('addresses parse with the iiod default port', () => {
  assert.deepEqual(parsePlutoAddress('pluto:192.168.2.1'), { host: '192.168.2.1', port: 30431 });
  assert.deepEqual(parsePlutoAddress('ip:127.0.0.1:4000'), { host: '127.0.0.1', port: 4000 });
  assert.deepEqual(parsePlutoAddress('[::1]:5'), { host: '::1', port: 5 });
  assert.throws(() => parsePlutoAddress('pluto:'), DeviceConfigError);
});

test('12-bit words convert to ±1 full scale, sign-extended', () => {
  const words = new Int16Array([2047, -2048, 1, -1, 0x0fff /* 12-bit -1 without sign extension */, 0]);
  const out = new Float32Array(words.length);
  convertS16Words(words, 12, 0, out);
  assert.deepEqual(Array.from(out), [2047 / 2048, -1, 1 / 2048, -1 / 2048, -1 / 2048, 0]);
});

test('open reads capabilities from the radio: AD9363 and AD9364 ranges differ', async () => {
  await withFake(async (pluto) => {
    const c = pluto.capabilities;
    assert.deepEqual(c.freqRangeHz, [325e6, 3.8e9]);
    assert.deepEqual(c.sampleRateRangeHz, [520833, 61440000]);
    assert.deepEqual(c.bandwidthRangeHz, [200000, 56000000]);
    assert.equal(c.fullDuplex, true);
    assert.equal(c.nativeFormat, 'ci16_le');
    assert.deepEqual(
      c.gains.map((g) => [g.name, g.minDb, g.maxDb, g.stepDb, g.direction]),
      [
        [PLUTO_RX_GAIN, -3, 71, 1, 'rx'],
        [PLUTO_TX_GAIN, -89.75, 0, 0.25, 'tx'],
      ],
    );
    assert.equal(pluto.config.freqHz, 2.4e9);
    // The radio's own TX LO (the fake starts it apart, as a Pluto does after power-up) is reported as it is.
    assert.equal(pluto.config.txFreqHz, 2.45e9);
    assert.deepEqual([c.rxChannels, c.txChannels, c.hardwareTimestamps, c.rxWaitsForConsumer], [1, 1, false, false]);
    assert.deepEqual(c.separateTx, { freqHz: true, sampleRateHz: false });
    assert.ok(!('channelSimulator' in pluto));
    assert.equal(pluto.config.gainsDb[PLUTO_RX_GAIN], 71);
    assert.match(pluto.info.label, /FAKE Analog Devices PlutoSDR/);
  });
  await withFake(
    async (pluto) => {
      assert.deepEqual(pluto.capabilities.freqRangeHz, [70e6, 6e9]);
    },
    { chip: 'ad9364' },
  );
});

test('configure writes the ad9361-phy attributes and returns what the radio applied', async () => {
  await withFake(
    async (pluto, fake) => {
      const configs: unknown[] = [];
      pluto.on('config', (c) => configs.push(c));
      const applied = await pluto.configure({ freqHz: 915_000_400, sampleRateHz: 2_000_000, gainsDb: { [PLUTO_RX_GAIN]: 40.4, [PLUTO_TX_GAIN]: -20.3 } });
      const w = fake.writes.map((x) => `${x.device} ${x.output ? 'out' : 'in'} ${x.channel} ${x.attr}=${x.value}`);
      assert.deepEqual(w, [
        'ad9361-phy in voltage0 sampling_frequency=2000000',
        'ad9361-phy in voltage0 rf_bandwidth=2000000',
        'ad9361-phy out voltage0 rf_bandwidth=2000000',
        'ad9361-phy out altvoltage0 frequency=915000400',
        'ad9361-phy out altvoltage1 frequency=915000400',
        'ad9361-phy in voltage0 gain_control_mode=manual',
        'ad9361-phy in voltage0 hardwaregain=40',
        'ad9361-phy out voltage0 hardwaregain=-20.25',
      ]);
      // The synthesizer rounded the LO to 1 kHz: the applied config says so.
      assert.equal(applied.freqHz, 915_000_000);
      assert.equal(fake.txLoHz, 915_000_000);
      assert.equal(applied.txFreqHz, undefined, 'TX is on freqHz');
      assert.equal(applied.sampleRateHz, 2_000_000);
      assert.equal(applied.bandwidthHz, 2_000_000);
      assert.deepEqual(applied.gainsDb, { [PLUTO_RX_GAIN]: 40, [PLUTO_TX_GAIN]: -20.25 });
      assert.equal(configs.length, 1);
      // An explicit bandwidth sticks; a later rate change leaves it, and the TX side is capped at its maximum.
      await pluto.configure({ bandwidthHz: 50_000_000 });
      await pluto.configure({ sampleRateHz: 10_000_000 });
      assert.equal(fake.rxBwHz, 50_000_000);
      assert.equal(fake.txBwHz, 40_000_000);
      assert.equal(fake.rateHz, 10_000_000);
      assert.equal(await pluto.gainControlMode(), 'manual');
      await pluto.setGainControlMode('fast_attack');
      assert.equal(fake.gainMode, 'fast_attack');
    },
    { loStepHz: 1000 },
  );
});

test('TX tuned apart: txFreqHz sets the TX LO alone, freqHz then leaves it, clearing it puts TX back on freqHz', async () => {
  await withFake(
    async (pluto, fake) => {
      await pluto.configure({ freqHz: 915e6 });
      const writes = (): string[] => fake.writes.splice(0).map((x) => `${x.channel} ${x.attr}=${x.value}`);
      writes();
      const apart = await pluto.configure({ txFreqHz: 868_000_400 });
      assert.deepEqual(writes(), ['altvoltage1 frequency=868000400']);
      assert.equal(apart.txFreqHz, 868_000_000, 'as the synthesizer rounded it');
      assert.equal(apart.freqHz, 915e6);
      const moved = await pluto.configure({ freqHz: 920e6 });
      assert.deepEqual(writes(), ['altvoltage0 frequency=920000000']);
      assert.deepEqual([moved.freqHz, moved.txFreqHz, fake.txLoHz], [920e6, 868e6, 868e6]);
      const back = await pluto.configure({ txFreqHz: undefined });
      assert.deepEqual(writes(), ['altvoltage1 frequency=920000000']);
      assert.equal(back.txFreqHz, undefined);
      await pluto.configure({ freqHz: 930e6 });
      assert.deepEqual(writes(), ['altvoltage0 frequency=930000000', 'altvoltage1 frequency=930000000']);
      // One sampling_frequency serves both directions: a different TX rate is refused before reaching the radio.
      await assert.rejects(pluto.configure({ txSampleRateHz: 1e6 }), (e: Error) => e instanceof DeviceConfigError && /one sample rate for RX and TX/.test(e.message));
      await assert.rejects(pluto.configure({ txFreqHz: 10e6 }), /txFreqHz 10000000 is out of range/);
      assert.deepEqual(writes(), []);
      assert.equal((await pluto.configure({ txSampleRateHz: pluto.config.sampleRateHz })).txSampleRateHz, undefined);
    },
    { loStepHz: 1000 },
  );
});

test('out-of-range requests fail before reaching the radio; refusals from iiod name the attribute', async () => {
  await withFake(async (pluto, fake) => {
    await assert.rejects(pluto.configure({ freqHz: 100e6 }), (e: Error) => e instanceof DeviceConfigError && /325000000\.\.3800000000/.test(e.message));
    await assert.rejects(pluto.configure({ gainsDb: { lna: 3 } }), /no gain stage 'lna'; use one of hardwaregain, tx_hardwaregain/);
    assert.equal(fake.writes.length, 0);
    // The radio narrows its range behind our back (as a firmware change would): iiod answers -EINVAL.
    fake.loRangeHz[1] = 3.0e9;
    await assert.rejects(pluto.configure({ freqHz: 3.5e9 }), (e: Error) => {
      assert.ok(e instanceof DeviceConfigError);
      assert.match(e.message, /rejected '3500000000' for ad9361-phy OUTPUT altvoltage0 frequency: EINVAL \(-22\)/);
      assert.match(e.message, /the radio accepts \[325000000 1 3000000000\]/);
      return true;
    });
  });
});

test('iiod errors on the wire become typed errors with the errno named', async () => {
  const fake = new FakePluto();
  const server = new FakeIiodServer(fake);
  const port = await server.start();
  const conn = await IiodConnection.connect({ host: '127.0.0.1', port, deviceId: 'test' });
  try {
    await assert.rejects(conn.readAttr('ad9361-phy', { kind: 'device' }, 'no_such_attr'), (e: Error) => {
      assert.ok(e instanceof IiodCommandError && e instanceof DeviceIoError);
      assert.equal(e.errnoName, 'ENOENT');
      assert.match(e.message, /reading ad9361-phy no_such_attr failed: ENOENT \(-2: no such attribute\)/);
      return true;
    });
    await assert.rejects(conn.open('iio:device42', 16, '00000003'), /opening iio:device42 for streaming failed: ENODEV/);
    await assert.rejects(conn.readBuf('cf-ad9361-lpc', new Uint8Array(64)), /EBADF .*OPEN it first/);
    await assert.rejects(conn.writeAttr('ad9361-phy', { kind: 'channel', channel: 'voltage0', output: false }, 'hardwaregain', '10'), /not manual|EINVAL/);
    // The connection is still in step after errors.
    assert.equal(await conn.readAttr('ad9361-phy', { kind: 'channel', channel: 'RX_LO', output: true }, 'frequency'), '2400000000');
  } finally {
    await conn.close();
    await server.close();
  }
});

function expectedRaw(first: number, samples: number): Buffer {
  const b = Buffer.alloc(samples * 4);
  for (let s = 0; s < samples; s++) {
    const [i, q] = fakePlutoRxSample(first + s);
    b.writeInt16LE(i, s * 4);
    b.writeInt16LE(q, s * 4 + 2);
  }
  return b;
}

test('RX samples arrive bit-exact, in order, with raw ci16 kept', async () => {
  await withFake(async (pluto) => {
    await pluto.configure({ sampleRateHz: 1_000_000 });
    const rx = pluto.startRx({ blockSamples: 1000 });
    const blocks: IqBlock[] = [];
    for await (const b of rx) {
      blocks.push(b);
      if (blocks.length === 4) break;
    }
    assert.equal(blocks.length, 4);
    for (const [k, b] of blocks.entries()) {
      assert.equal(b.samples, 1000);
      assert.equal(b.sampleIndex, k * 1000);
      assert.deepEqual(Buffer.from(b.raw!), expectedRaw(k * 1000, 1000));
      for (let s = 0; s < b.samples; s += 97) {
        const [i, q] = fakePlutoRxSample(k * 1000 + s);
        assert.equal(b.iq[2 * s], i / 2048);
        assert.equal(b.iq[2 * s + 1], q / 2048);
      }
    }
    assert.ok(pluto.stats().samplesRx >= 4000);
    // A second stream may start once the first is stopped, and starts from a fresh buffer.
    const again = pluto.startRx({ blockSamples: 500 });
    const first = await again[Symbol.asyncIterator]().next();
    assert.deepEqual(Buffer.from(first.value!.raw!), expectedRaw(0, 500));
    await again.stop();
  });
});

test('full duplex: TX data arrives at iiod bit-exact while RX streams', async () => {
  await withFake(
    async (pluto, fake) => {
      await pluto.configure({ sampleRateHz: 1_000_000 });
      const rx = pluto.startRx({ blockSamples: 1000 });
      const rxBlocks: IqBlock[] = [];
      const rxDone = (async () => {
        for await (const b of rx) {
          rxBlocks.push(b);
          if (rxBlocks.length === 6) break;
        }
      })();
      const tx = pluto.startTx();
      const n = 2500; // two whole TX buffers and a partial one
      const iq = new Float32Array(2 * n);
      for (let s = 0; s < n; s++) {
        iq[2 * s] = Math.cos(s / 10) * 0.9;
        iq[2 * s + 1] = Math.sin(s / 10) * 0.9;
      }
      iq[0] = 1.5; // clipped to full scale
      iq[1] = -1;
      for (let at = 0; at < iq.length; at += 700) await tx.write(iq.subarray(at, Math.min(iq.length, at + 700)));
      await tx.end();
      await rxDone;
      const got = fake.txBytes();
      assert.equal(got.length, n * 4);
      for (let k = 0; k < 2 * n; k++) {
        const want = Math.round(Math.max(-1, Math.min(1, iq[k]!)) * 32767) | 0;
        assert.equal(got.readInt16LE(2 * k), want, `TX word ${k}`);
      }
      assert.equal(fake.tx.get('cf-ad9361-dds-core-lpc')!.length, 3, 'three WRITEBUFs: 1000 + 1000 + 500 samples');
      assert.equal(pluto.stats().samplesTx, n);
      assert.equal(rxBlocks.length, 6);
      assert.deepEqual(Buffer.from(rxBlocks[5]!.raw!), expectedRaw(5000, 1000));
    },
    {},
    { txBlockSamples: 1000 },
  );
});

test('a slow consumer loses the oldest blocks, counted, and sampleIndex shows the gap', async () => {
  await withFake(async (pluto) => {
    await pluto.configure({ sampleRateHz: 1_000_000 });
    const rx = pluto.startRx({ blockSamples: 4096, queueBlocks: 2 });
    const it = rx[Symbol.asyncIterator]();
    const a = (await it.next()).value as IqBlock;
    await new Promise((r) => setTimeout(r, 120));
    const b = (await it.next()).value as IqBlock;
    assert.ok(pluto.stats().overflows > 0, 'blocks were dropped');
    assert.ok(b.sampleIndex > a.sampleIndex + a.samples, `gap expected: ${a.sampleIndex} then ${b.sampleIndex}`);
    assert.deepEqual(Buffer.from(b.raw!), expectedRaw(b.sampleIndex, 4096), 'a later block is still the right samples');
    await rx.stop();
  });
});

test('iiod dying mid-stream ends RX with DeviceGoneError, rejects TX writes, emits gone once', async () => {
  const fake = new FakePluto();
  const server = new FakeIiodServer(fake);
  const port = await server.start();
  const pluto = new PlutoDevice({ host: '127.0.0.1', port, timeoutMs: 2000, txBlockSamples: 256 });
  await pluto.open();
  await pluto.configure({ sampleRateHz: 1_000_000 });
  const gone: Error[] = [];
  pluto.on('gone', (e: Error) => gone.push(e));
  const rx = pluto.startRx({ blockSamples: 1000 });
  const tx = pluto.startTx();
  await tx.write(new Float32Array(512));
  let blocks = 0;
  await assert.rejects(
    (async () => {
      for await (const b of rx) {
        assert.ok(b.samples > 0);
        if (++blocks === 3) server.kill();
      }
    })(),
    (e: Error) => e instanceof DeviceGoneError && /closed the connection/.test(e.message),
  );
  assert.ok(blocks >= 3);
  await assert.rejects(tx.write(new Float32Array(512)), DeviceGoneError);
  await new Promise((r) => setImmediate(r));
  assert.equal(gone.length, 1);
  assert.equal(pluto.isOpen, false);
  await assert.rejects(pluto.configure({ freqHz: 1e9 }), DeviceGoneError);
  await pluto.close(); // safe after gone
  await pluto.close();
});

test('a killed iiod process (SIGKILL) ends RX with DeviceGoneError', async () => {
  const script = fileURLToPath(new URL('./iio/fakes/iiod-server.js', import.meta.url));
  const child = spawn(process.execPath, [script, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening 127\.0\.0\.1:(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`fake iiod exited early (${code})`)));
    });
    const pluto = new PlutoDevice({ host: '127.0.0.1', port, timeoutMs: 2000 });
    await pluto.open();
    await pluto.configure({ sampleRateHz: 1_000_000 });
    const rx = pluto.startRx({ blockSamples: 1000 });
    let blocks = 0;
    await assert.rejects(
      (async () => {
        for await (const _ of rx) if (++blocks === 2) child.kill('SIGKILL');
      })(),
      DeviceGoneError,
    );
    await pluto.close();
  } finally {
    child.kill('SIGKILL');
  }
});

test('connecting to nothing says so', async () => {
  const server = new FakeIiodServer(new FakePluto());
  const port = await server.start();
  await server.close(); // the port is free again: nothing listens there
  const pluto = new PlutoDevice({ host: '127.0.0.1', port, timeoutMs: 1000 });
  await assert.rejects(pluto.open(), /cannot connect to iiod at 127\.0\.0\.1:\d+: ECONNREFUSED \(nothing listens there/);
  assert.throws(() => pluto.startRx(), /not open; call open\(\) first/);
});

test('the registry opens pluto:HOST:PORT through this driver', async () => {
  assert.deepEqual((await loadDriverModules()).filter((p) => p.includes('pluto')), []);
  assert.ok(registeredDrivers().includes('pluto'));
  const server = new FakeIiodServer(new FakePluto({ chip: 'ad9364' }));
  const port = await server.start();
  const dev = await createDevice(`pluto:127.0.0.1:${port}`, { driverOptions: { timeoutMs: 1000 } });
  try {
    assert.ok(dev instanceof PlutoDevice);
    assert.equal(dev.info.id, `pluto:127.0.0.1:${port}`);
    await dev.open();
    assert.deepEqual(dev.capabilities.freqRangeHz, [70e6, 6e9]);
    assert.equal(((await createDevice('pluto')) as PlutoDevice).host, '192.168.2.1');
    await assert.rejects(createDevice('pluto:host:99999'), /port must be 1\.\.65535/);
  } finally {
    await dev.close();
    await server.close();
  }
});
