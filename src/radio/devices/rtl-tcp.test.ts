import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { LoopbackDevice } from './loopback.js';
import { RtlTcpServer, type RtlTcpCommandEvent } from './rtl-tcp-server.js';
import { RtlTcpClient, parseHostPort } from './rtl-tcp-client.js';
import { RtlTcpCommand, decodeHeader, CommandParser, encodeCommand } from './rtl-tcp-protocol.js';
import { DeviceGoneError, DeviceIoError } from './types.js';
import { cf32ToCu8, cu8ToCf32 } from '../iq/format.js';

async function servedLoopback(seed: number, opts: Partial<Parameters<typeof RtlTcpServer.listen>[0]> = {}) {
  const dev = new LoopbackDevice({ seed, pace: 'realtime', config: { sampleRateHz: 1e6 } });
  await dev.open();
  const server = await RtlTcpServer.listen({ device: dev, port: 0, blockSamples: 4096, queueBlocks: 256, ...opts });
  return { dev, server };
}

test('rtl_tcp protocol: header and commands encode as rtl_tcp does; the parser handles split commands', () => {
  const h = decodeHeader(new Uint8Array([0x52, 0x54, 0x4c, 0x30, 0, 0, 0, 5, 0, 0, 0, 29]));
  assert.deepEqual(h, { tunerType: 5, gainCount: 29 });
  assert.equal(decodeHeader(Buffer.from('HTTP/1.1 200')), null);
  assert.deepEqual([...encodeCommand(0x01, 915_000_000)], [0x01, 0x36, 0x89, 0xca, 0xc0]);
  assert.deepEqual([...encodeCommand(0x05, -3)], [0x05, 0xff, 0xff, 0xff, 0xfd]);
  const p = new CommandParser();
  const bytes = Buffer.concat([encodeCommand(0x02, 2_048_000), encodeCommand(0x04, 496)]);
  assert.deepEqual(p.push(bytes.subarray(0, 3)), []);
  assert.deepEqual(p.push(bytes.subarray(3, 7)), [{ cmd: 2, param: 2_048_000 }]);
  assert.deepEqual(p.push(bytes.subarray(7)), [{ cmd: 4, param: 496 }]);
  assert.deepEqual(parseHostPort('[::1]:99'), { host: '::1', port: 99 });
  assert.deepEqual(parseHostPort('example'), { host: 'example', port: 1234 });
  assert.throws(() => parseHostPort('h:99999'), /not HOST:PORT/);
});

test('rtl_tcp: our client against our server receives the served samples bit-exact, and its commands are applied', async () => {
  const { dev, server } = await servedLoopback(42);
  assert.equal(server.host, '127.0.0.1');
  const commands: RtlTcpCommandEvent[] = [];
  server.on('command', (c: RtlTcpCommandEvent) => commands.push(c));
  const client = new RtlTcpClient('127.0.0.1', server.port, { sampleRateHz: 1e6, freqHz: 433.92e6 });
  await client.open();
  assert.deepEqual(client.header, { tunerType: 5, gainCount: 29 });
  assert.equal(client.capabilities.gains[0]!.maxDb, 49.6);
  assert.deepEqual([client.capabilities.rxChannels, client.capabilities.txChannels, client.capabilities.hardwareTimestamps], [1, 0, false]);
  assert.ok(!('channelSimulator' in client), 'a served loopback is a radio to the client: no channel hook');
  const rx = client.startRx({ blockSamples: 4096, queueBlocks: 64 });
  const got: Uint8Array[] = [];
  for await (const b of rx) {
    assert.equal(b.sampleIndex, got.length * 4096);
    assert.deepEqual(b.iq, cu8ToCf32(b.raw!));
    got.push(b.raw!);
    if (got.length === 12) break;
  }
  assert.equal(dev.stats().overflows, 0);
  // The same seed in a second loopback gives the same air: what the client got is exactly its cu8 form.
  // rtl_tcp streams from the connection on, so the client's first block starts wherever startRx() caught
  // the stream: find that sample in the reference, then every following byte must agree.
  const ref = new LoopbackDevice({ seed: 42, pace: 'full-speed' });
  await ref.open();
  const refBlocks: Uint8Array[] = [];
  for await (const b of ref.startRx({ blockSamples: 4096 })) {
    refBlocks.push(cf32ToCu8(b.iq));
    if (refBlocks.length === got.length + 40) break;
  }
  await ref.close();
  const refAll = Buffer.concat(refBlocks);
  const gotAll = Buffer.concat(got);
  const at = refAll.indexOf(gotAll.subarray(0, 256));
  assert.ok(at >= 0 && at % 2 === 0, `first block found at byte ${at} of the reference (must be a whole sample)`);
  assert.ok(refAll.subarray(at, at + gotAll.length).equals(gotAll), 'the served stream differs from the reference');
  // The client's opening commands travel beside the stream: give the server a moment on a loaded machine.
  for (const until = Date.now() + 3000; dev.config.freqHz !== 433.92e6 && Date.now() < until;) await sleep(10);
  assert.equal(dev.config.freqHz, 433.92e6);
  assert.equal(dev.config.sampleRateHz, 1e6);

  // Commands while streaming: tune, gain in dB, gain by index, ppm (no device counterpart: remembered).
  await client.configure({ freqHz: 915e6, gainsDb: { tuner: 12.5 } });
  await client.send(RtlTcpCommand.SetFreqCorrection, -7);
  await client.send(RtlTcpCommand.SetGainByIndex, 3); // R820T table[3] = 2.7 dB
  const rx2 = client.startRx({ blockSamples: 4096 });
  const deadline = Date.now() + 3000;
  while (commands.length < 7 && Date.now() < deadline) await sleep(10);
  await rx2.stop();
  assert.deepEqual(
    commands.map((c) => c.name),
    ['SetSampleRate', 'SetFrequency', 'SetFrequency', 'SetGainMode', 'SetGain', 'SetFreqCorrection', 'SetGainByIndex'],
  );
  assert.equal(dev.config.freqHz, 915e6);
  assert.deepEqual(commands[4]!.applied, { 'gain:rx': 12.5 });
  assert.equal(server.state['SetFreqCorrection'], -7);
  assert.equal(dev.config.gainsDb['rx'], 2.5); // 2.7 dB rounded to the loopback's 0.5 dB step
  assert.equal(server.stats.commandErrors, 0);
  await client.close();
  await server.close();
  await dev.close();
});

test('rtl_tcp server: a slow client costs bounded memory (blocks dropped and counted); one client at a time; disconnect stops the radio', async () => {
  const { dev, server } = await servedLoopback(1, { maxBufferedBytes: 64 << 10 });
  const served = once(server, 'client');
  const slow = connect({ host: '127.0.0.1', port: server.port });
  slow.pause(); // reads nothing: the kernel buffers fill, then the server's
  await once(slow, 'connect');
  await served;
  // a second client while one is served is refused
  const second = connect({ host: '127.0.0.1', port: server.port });
  second.on('error', () => undefined);
  await once(second, 'close');
  assert.equal(server.stats.refusedClients, 1);
  const deadline = Date.now() + 5000;
  while (server.stats.blocksDropped < 5 && Date.now() < deadline) await sleep(20);
  assert.ok(server.stats.blocksDropped >= 5, `dropped ${server.stats.blocksDropped}`);
  assert.ok(server.stats.maxQueuedBytes <= (64 << 10) + 2 * 4096, `queued ${server.stats.maxQueuedBytes}`);
  // The slow client still reads a well-formed stream: the header first.
  slow.resume();
  const [first] = (await once(slow, 'data')) as [Buffer];
  assert.deepEqual(decodeHeader(first), { tunerType: 5, gainCount: 29 });
  const left = once(server, 'client-gone');
  slow.destroy();
  await left;
  const before = dev.stats().samplesRx;
  await sleep(100);
  assert.equal(dev.stats().samplesRx, before, 'the radio stopped streaming when the client left');
  // and the next client is served
  const again = new RtlTcpClient('127.0.0.1', server.port, { sampleRateHz: 1e6 });
  await again.open();
  const rx = again.startRx({ blockSamples: 1024 });
  for await (const b of rx) {
    assert.equal(b.samples, 1024);
    break;
  }
  await again.close();
  await server.close();
  await dev.close();
});

test('rtl_tcp client: server death ends the stream with DeviceGoneError; bad servers give clear errors', async () => {
  const { dev, server } = await servedLoopback(3);
  const client = new RtlTcpClient('127.0.0.1', server.port, { sampleRateHz: 1e6 });
  await client.open();
  let gone = 0;
  client.on('gone', () => gone++);
  const rx = client.startRx({ blockSamples: 1024 });
  let blocks = 0;
  await assert.rejects(
    (async () => {
      for await (const _ of rx) {
        if (++blocks === 3) dev.unplug('USB cable pulled'); // the server's radio goes away
      }
    })(),
    (e: unknown) => e instanceof DeviceGoneError && /rtl_tcp:127\.0\.0\.1/.test((e as Error).message),
  );
  assert.equal(gone, 1);
  assert.ok(blocks >= 3);
  await client.close();
  await server.close();

  const fake = createServer((s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
  fake.listen(0, '127.0.0.1');
  await once(fake, 'listening');
  const port = (fake.address() as { port: number }).port;
  await assert.rejects(new RtlTcpClient('127.0.0.1', port).open(), (e: unknown) => e instanceof DeviceIoError && /not an rtl_tcp server.*RTL0/.test((e as Error).message));
  fake.close();
  await once(fake, 'close');
  await assert.rejects(new RtlTcpClient('127.0.0.1', port).open(), /ECONNREFUSED/);
});
