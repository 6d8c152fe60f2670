import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runRecordCli } from './record.js';
import { runDevicesCli } from './devices.js';
import { runRtlTcpCli } from './rtl-tcp.js';
import { RtlTcpClient } from '../radio/devices/rtl-tcp-client.js';
import { assertMetaOnDiskValid } from '../radio/sigmf/testing.js';
import { SigmfRecording } from '../radio/sigmf/reader.js';

function capture() {
  const o = { out: '', err: '' };
  return { o, out: { stdout: (s: string) => void (o.out += s), stderr: (s: string) => void (o.err += s) } };
}

function tmp(t: { after: (f: () => void) => void }): string {
  const d = mkdtempSync(join(tmpdir(), 'dekag-record-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test('record --device loopback: schema-valid recording with a checksum and an annotation per decoded frame', async (t) => {
  const base = join(tmp(t), 'lb');
  const c = capture();
  const rc = await runRecordCli(['--device', 'loopback', '--freq', '915e6', '--rate', '500e3', '--seconds', '0.6', '--out', base, '--format', 'ci8', '--frames', '3', '--json'], { out: c.out });
  assert.equal(rc, 0, c.o.err);
  const summary = JSON.parse(c.o.out);
  assert.equal(summary.ended, 'complete');
  assert.equal(summary.samples, 300000);
  const meta = assertMetaOnDiskValid(base, 'after record');
  assert.equal(meta.global['core:datatype'], 'ci8');
  assert.equal(meta.global['core:sample_rate'], 500e3);
  assert.equal(meta.captures[0]['core:frequency'], 915e6);
  const data = readFileSync(`${base}.sigmf-data`);
  assert.equal(data.length, 2 * 300000);
  assert.equal(meta.global['core:sha512'], createHash('sha512').update(data).digest('hex'));
  assert.deepEqual(meta.annotations.map((a: Record<string, unknown>) => a['dekag:sequence']), [0, 1, 2]);
  for (const a of meta.annotations) {
    assert.equal(a['dekag:crc_ok'], true);
    assert.ok(Math.abs(a['dekag:snr_db'] - 25) < 2, `snr ${a['dekag:snr_db']}`);
  }
});

test('record from an rtl_tcp radio whose server dies mid-recording: finalized, valid, says so, exits 1', async (t) => {
  const base = join(tmp(t), 'unplug');
  const stopServer = new AbortController();
  let port = 0;
  const sc = capture();
  const listening = new Promise<void>((resolve) => {
    void runRtlTcpCli(['serve', '--device', 'loopback', '--port', '0', '--rate', '250e3'], {
      out: sc.out,
      signal: stopServer.signal,
      onListening: (p) => {
        port = p;
        resolve();
      },
    });
  });
  await listening;
  assert.match(sc.o.out, /serving loopback over rtl_tcp on 127\.0\.0\.1:/);
  // Kill the server after ~0.4 s of a 5 s recording: the rtl_tcp connection closes like a pulled dongle.
  const killer = setTimeout(() => stopServer.abort(), 400);
  const c = capture();
  const rc = await runRecordCli(['--device', `rtl_tcp:127.0.0.1:${port}`, '--freq', '100e6', '--rate', '250e3', '--seconds', '5', '--out', base, '--json'], { out: c.out });
  clearTimeout(killer);
  assert.equal(rc, 1);
  assert.match(c.o.err, /radio rtl_tcp:127\.0\.0\.1:\d+ is gone: the rtl_tcp server closed the connection after \d+ samples; the recording was finalized/);
  const summary = JSON.parse(c.o.out);
  assert.equal(summary.ended, 'radio gone');
  assert.ok(summary.samples > 0 && summary.samples < 5 * 250e3, `samples ${summary.samples}`);
  const meta = assertMetaOnDiskValid(base, 'after the radio went away');
  assert.equal(meta.global['core:datatype'], 'cu8'); // the rtl_tcp radio's own format, bytes kept as received
  assert.equal(meta.global['dekag:finalized'], true);
  const rec = await SigmfRecording.open(base);
  assert.equal(rec.sampleCount, summary.samples);
  await rec.close();
  const data = readFileSync(`${base}.sigmf-data`);
  assert.equal(meta.global['core:sha512'], createHash('sha512').update(data).digest('hex'));
});

test('record and devices: bad arguments are usage errors naming the flag; devices --json lists the loopback', async (t) => {
  const base = join(tmp(t), 'x');
  await assert.rejects(runRecordCli(['--freq', '1e6', '--rate', '1e6', '--seconds', '1']), /--out is required/);
  await assert.rejects(runRecordCli(['--freq', 'abc', '--rate', '1e6', '--seconds', '1', '--out', base]), /--freq must be a positive number, got 'abc'/);
  await assert.rejects(runRecordCli(['--freq', '1e6', '--rate', '1e6', '--seconds', '1', '--out', base, '--format', 'ci16']), /--format must be one of ci8, cu8, cf32_le/);
  await assert.rejects(runRecordCli(['--freq', '1e6', '--rate', '1e6', '--seconds', '1', '--out', base, '--gain', 'lna']), /not NAME=DB/);
  await assert.rejects(runRecordCli(['--freq', '1e6', '--rate', '1e6', '--seconds', '1', '--out', base, '--gain', 'lna=8']), /no gain stage 'lna'; use one of rx/);
  const c = capture();
  assert.equal(await runDevicesCli(['--json', '--rtl-tcp', '127.0.0.1:1234'], { out: c.out, usb: { getDevices: async () => Promise.reject(new Error('no /sys/bus/usb')) } }), 0);
  const j = JSON.parse(c.o.out);
  assert.deepEqual(j.devices.map((d: { id: string }) => d.id), ['loopback', 'rtl_tcp:127.0.0.1:1234']);
  assert.match(j.problems[0], /no USB bus/);
  assert.ok(j.drivers.includes('loopback'));
  // the rtl_tcp client refuses to be told to transmit
  assert.throws(() => new RtlTcpClient('127.0.0.1', 1).startTx(), /receive-only/);
});
