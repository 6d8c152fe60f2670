/**
 * openRadio opens every radio through the device registry: the loopback and rtl_tcp with their own
 * options, any other registered driver configured to the session's frequency and rate after opening.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { openRadio } from './radio.js';
import { LoopbackDevice } from '../radio/devices/loopback.js';
import { RtlTcpServer, type RtlTcpCommandEvent } from '../radio/devices/rtl-tcp-server.js';
import { registerDriver, unregisterDriver } from '../radio/devices/registry.js';
import { RtlTcpCommand } from '../radio/devices/rtl-tcp-protocol.js';
import { UsageError } from '../util/errors.js';

test('loopback: made with the session tuning, channel, seed, pace and RX gain', async () => {
  const dev = await openRadio('loopback', { sampleRateHz: 250e3, freqHz: 915e6, channel: { snrDb: 9 }, pace: 'full-speed', rxGainDb: -12 });
  try {
    assert.ok(dev.isOpen);
    assert.deepEqual(dev.config, { freqHz: 915e6, sampleRateHz: 250e3, gainsDb: { rx: -12 } });
    assert.equal(dev.channelSimulator?.channel.snrDb, 9);
    assert.equal(dev.capabilities.rxWaitsForConsumer, true, 'full speed');
  } finally {
    await dev.close();
  }
  const byDefault = await openRadio('loopback');
  assert.deepEqual(byDefault.config, { freqHz: 2.4e9, sampleRateHz: 1e6, gainsDb: { rx: 0 } });
  assert.equal(byDefault.channelSimulator?.channel.snrDb, 20);
  assert.equal(byDefault.capabilities.rxWaitsForConsumer, false, 'real time');
  await byDefault.close();
});

test('rtl_tcp: the server is told the rate and a frequency an RTL tuner can reach, nothing else', async () => {
  const served = new LoopbackDevice({ pace: 'realtime', config: { sampleRateHz: 2e6 } });
  await served.open();
  const server = await RtlTcpServer.listen({ device: served, port: 0 });
  const commands: RtlTcpCommandEvent[] = [];
  server.on('command', (c: RtlTcpCommandEvent) => commands.push(c));
  const dev = await openRadio(`rtl_tcp:127.0.0.1:${server.port}`, { sampleRateHz: 1e6, freqHz: 2.4e9 });
  try {
    assert.equal(dev.info.driver, 'rtl_tcp');
    assert.equal(dev.channelSimulator, undefined, 'the far loopback is a radio to this client');
    assert.deepEqual([dev.config.sampleRateHz, dev.config.freqHz], [1e6, 1.7e9]);
    while (commands.length < 2) await once(server, 'command');
    assert.deepEqual(
      commands.map((c) => [c.cmd, c.param]),
      [
        [RtlTcpCommand.SetSampleRate, 1e6],
        [RtlTcpCommand.SetFrequency, 1.7e9],
      ],
    );
    assert.deepEqual([served.config.sampleRateHz, served.config.freqHz], [1e6, 1.7e9]);
  } finally {
    await dev.close();
    await server.close();
    await served.close();
  }
});

test('any other registered driver is opened by the registry, then configured; unknown names are a usage error', async () => {
  const made: LoopbackDevice[] = [];
  registerDriver('testradio', (spec) => {
    const d = new LoopbackDevice({ id: spec.id });
    made.push(d);
    return d;
  });
  try {
    const dev = await openRadio('testradio:7', { sampleRateHz: 500e3, freqHz: 433.92e6 });
    assert.equal(made.length, 1);
    assert.equal(dev.info.id, 'testradio:7');
    assert.deepEqual([dev.config.sampleRateHz, dev.config.freqHz], [500e3, 433.92e6]);
    await dev.close();
    await assert.rejects(openRadio('testradio', { sampleRateHz: 1 }), /sample rate 1 Hz is out of range/);
    assert.equal(made.length, 2);
    assert.equal(made[1]!.isOpen, false, 'a radio that cannot take the session tuning is closed again');
  } finally {
    unregisterDriver('testradio');
  }
  await assert.rejects(openRadio('usrp:0'), (e: unknown) => e instanceof UsageError && /unknown radio 'usrp:0'; use 'loopback'/.test((e as Error).message));
});
