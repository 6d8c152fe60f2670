/**
 * Issue 15, items 8 and 9: the rtl_tcp server under a hostile client on 127.0.0.1. SetSampleRate 100 Msps
 * pegged a core for as long as the client stayed (and the rate stayed for the next client); a command flood
 * wrote one stderr line per 5-byte command.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { LoopbackDevice } from '../../src/radio/devices/loopback.js';
import { RtlTcpServer, type RtlTcpCommandEvent } from '../../src/radio/devices/rtl-tcp-server.js';
import { RtlTcpCommand, encodeCommand } from '../../src/radio/devices/rtl-tcp-protocol.js';
import { runRtlTcpCli } from '../../src/cli/rtl-tcp.js';

async function rawClient(port: number): Promise<Socket> {
  const s = connect({ host: '127.0.0.1', port });
  s.on('error', () => undefined);
  await once(s, 'connect');
  return s;
}

/** This process's CPU time over `ms` of wall time, as a fraction of one core. */
async function cpuFraction(ms: number): Promise<number> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(ms);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000 / (performance.now() - t0);
}

test('rtl_tcp: SetSampleRate 100 Msps is clamped to the RTL range, a client that reads nothing costs no CPU, and the next client starts from the served rate', async () => {
  const dev = new LoopbackDevice({ pace: 'realtime', channel: { snrDb: 30 }, config: { sampleRateHz: 1e6 } });
  await dev.open();
  const server = await RtlTcpServer.listen({ device: dev, port: 0, maxBufferedBytes: 256 << 10 });
  const commands: RtlTcpCommandEvent[] = [];
  server.on('command', (c: RtlTcpCommandEvent) => commands.push(c));
  try {
    const s = await rawClient(server.port);
    s.pause(); // reads nothing, ever
    s.write(encodeCommand(RtlTcpCommand.SetSampleRate, 100_000_000));
    for (const until = Date.now() + 5000; commands.length < 1 && Date.now() < until;) await sleep(10);
    assert.equal(commands[0]?.name, 'SetSampleRate');
    assert.deepEqual(commands[0]!.applied, { sampleRateHz: 3_200_000 });
    assert.match(commands[0]!.note ?? '', /clamped to 3200000/);
    assert.equal(dev.config.sampleRateHz, 3_200_000);
    // Let the socket buffers fill, then measure: the server must stop pulling, the loopback stop making blocks.
    await sleep(3000);
    const cpu = await cpuFraction(2000);
    assert.ok(cpu < 0.25, `a client that reads nothing cost ${(cpu * 100).toFixed(0)}% of a core`);
    assert.ok(server.stats.blocksDropped > 0, 'the blocks the client never read are counted');
    const gone = once(server, 'client-gone');
    s.destroy();
    await gone;
    assert.equal(dev.config.sampleRateHz, 1e6, 'the next client starts from the served rate');
    // A rate below the RTL's range is clamped up; one inside it is applied as asked.
    const s2 = await rawClient(server.port);
    s2.write(Buffer.concat([encodeCommand(RtlTcpCommand.SetSampleRate, 1000), encodeCommand(RtlTcpCommand.SetSampleRate, 2_048_000)]));
    for (const until = Date.now() + 5000; commands.length < 3 && Date.now() < until;) await sleep(10);
    assert.deepEqual(commands.slice(1).map((c) => c.applied), [{ sampleRateHz: 225_001 }, { sampleRateHz: 2_048_000 }]);
    s2.destroy();
  } finally {
    await server.close();
    await dev.close();
  }
});

test('rtl-tcp serve: a command flood gets a few log lines and a count, not one line per command', async () => {
  const stop = new AbortController();
  let err = '';
  let port = 0;
  const listening = new Promise<void>((resolve) => {
    void runRtlTcpCli(['serve', '--device', 'loopback', '--port', '0', '--rate', '250e3'], {
      out: { stdout: () => undefined, stderr: (s) => void (err += s) },
      signal: stop.signal,
      onListening: (p) => {
        port = p;
        resolve();
      },
    }).catch(() => undefined);
  });
  await listening;
  const s = await rawClient(port);
  s.on('data', () => undefined); // a client that reads its stream
  const n = 20_000;
  const flood = Buffer.concat(Array.from({ length: n }, (_, i) => encodeCommand(RtlTcpCommand.SetFreqCorrection, i % 100)));
  s.write(flood);
  await sleep(1500);
  const gone = new Promise<void>((resolve) => {
    s.on('close', () => resolve());
  });
  s.destroy();
  await gone;
  await sleep(300);
  stop.abort();
  await sleep(100);
  const lines = err.split('\n').filter((l) => l.length > 0);
  const commandLines = lines.filter((l) => /^ {2}SetFreqCorrection /.test(l));
  assert.ok(commandLines.length <= 40, `${commandLines.length} log lines for ${n} commands`);
  assert.ok(err.length < flood.length / 10, `${err.length} bytes of log for ${flood.length} bytes of commands`);
  const held = lines.map((l) => /\.\.\. (\d+) more command\(s\) not shown/.exec(l)).filter((m) => m !== null);
  const reported = held.reduce((a, m) => a + Number(m![1]), 0);
  assert.equal(reported + commandLines.length, n, 'every command is either shown or counted');
});
