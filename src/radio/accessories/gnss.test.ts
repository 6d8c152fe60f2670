import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SigmfWriter } from '../sigmf/writer.js';
import { assertMetaOnDiskValid, tempDir } from '../sigmf/testing.js';
import { GnssReceiver, fixToSigmf, gnssDatetimeAt, nmeaChecksum, nmeaSentence, parseGga, parseNmeaLine, parseRmc, stampRecording, type GnssFix } from './gnss.js';
import { FakeGnssTalker } from './fakes/gnss-talker.js';
import { openPtyPair } from './fakes/pty-pair.js';
import { AccessoryGoneError } from './serial-line.js';

// The textbook sentences (NMEA 0183 references), with the checksums receivers print for them.
const GGA = '$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47';
const RMC = '$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A';

test('checksums match the published examples; bad and missing checksums are told apart', () => {
  assert.equal(nmeaChecksum(GGA.slice(1, -3)), '47');
  assert.equal(nmeaChecksum(RMC.slice(1, -3)), '6A');
  const s = parseNmeaLine(GGA);
  assert.ok(!('reject' in s));
  assert.equal(s.talker, 'GP');
  assert.equal(s.type, 'GGA');
  assert.deepEqual(parseNmeaLine(GGA.replace('*47', '*48')), { reject: 'bad-checksum' });
  assert.deepEqual(parseNmeaLine(GGA.replace('4807.038', '4807.039')), { reject: 'bad-checksum' });
  assert.deepEqual(parseNmeaLine(GGA.slice(0, 30)), { reject: 'no-checksum' });
  assert.deepEqual(parseNmeaLine('\u0000\u00ff garbage'), { reject: 'garbage' });
  // Noise before the '$' (a half-received previous sentence) is skipped.
  assert.ok(!('reject' in parseNmeaLine(`0.9,54${GGA}`)));
});

test('GGA and RMC fields decode to degrees, metres, m/s and a date', () => {
  const g = parseGga((parseNmeaLine(GGA) as { fields: string[] }).fields)!;
  assert.equal(g.quality, 1);
  assert.equal(g.satellites, 8);
  assert.equal(g.hdop, 0.9);
  assert.ok(Math.abs(g.latDeg! - (48 + 7.038 / 60)) < 1e-12);
  assert.ok(Math.abs(g.lonDeg! - (11 + 31 / 60)) < 1e-12);
  assert.equal(g.altMslM, 545.4);
  assert.equal(g.geoidSeparationM, 46.9);
  const r = parseRmc((parseNmeaLine(RMC) as { fields: string[] }).fields)!;
  assert.equal(r.valid, true);
  assert.equal(r.date, '1994-03-23');
  assert.ok(Math.abs(r.speedMps! - 22.4 * 0.514444) < 1e-4);
  assert.equal(r.courseDeg, 84.4);
  // Southern and western hemispheres are negative; a void RMC is not valid.
  const sw = parseRmc('235959.50,V,3356.123,S,15112.456,W,0.0,0.0,010125,,,N'.split(','))!;
  assert.equal(sw.valid, false);
  assert.ok(sw.latDeg! < 0 && sw.lonDeg! < 0);
  assert.equal(sw.date, '2025-01-01');
  assert.equal(parseGga('123519,4807.038,N,01131.000,E,X,08,0.9,545.4,M,46.9,M,,'.split(',')), undefined, 'non-numeric quality');
  assert.equal(parseGga('123519,4807.038,N,01131.000,Q,1,08,0.9,545.4,M,46.9,M,,'.split(',')), undefined, 'bad hemisphere');
});

test('the receiver keeps the latest fix, merges GGA and RMC, and counts junk without throwing', () => {
  let t = 1_000_000;
  const rx = new GnssReceiver({ now: () => t });
  const fixes: GnssFix[] = [];
  const latest = (): GnssFix | undefined => rx.latestFix;
  rx.on('fix', (f: GnssFix) => fixes.push(f));
  rx.feed('\u0000\u0013garbage\r\n');
  rx.feed(`${GGA.replace('*47', '*00')}\r\n`);
  rx.feed(`${nmeaSentence('GPGGA,123519,,,,,0,00,99.9,,M,,M,,')}\r\n`); // no fix yet
  assert.equal(latest(), undefined);
  rx.feed(`${RMC}\r\n${GGA.slice(0, 20)}`); // a partial line waits for the rest
  assert.equal(latest()?.utc, '1994-03-23T12:35:19Z');
  t += 5;
  rx.feed(`${GGA.slice(20)}\r\n`);
  rx.feed('x'.repeat(1000) + '\r\n'); // noise without newlines for a while
  rx.feed(`${nmeaSentence('GPGSV,3,1,11,03,03,111,00,04,15,270,00,06,01,010,00,13,06,292,00')}\r\n`);
  const f = latest()!;
  assert.equal(f.quality, 1);
  assert.equal(f.satellites, 8);
  assert.equal(f.altMslM, 545.4);
  assert.ok(Math.abs(f.altEllipsoidM! - 592.3) < 1e-9);
  assert.equal(f.utc, '1994-03-23T12:35:19Z');
  assert.equal(f.receivedAtMs, 1_000_005);
  assert.ok(Math.abs(f.speedMps! - 11.5235) < 1e-3, 'speed from the RMC of the same epoch');
  assert.equal(fixes.length, 2);
  const s = rx.stats;
  assert.equal(s.sentences, 4);
  assert.equal(s.gga, 2);
  assert.equal(s.rmc, 1);
  assert.equal(s.ignored, 1);
  assert.equal(s.badChecksum, 1);
  assert.equal(s.garbage, 1);
  assert.equal(s.overlong, 1);
});

test('a fix becomes SigMF geolocation and datetime, extrapolated to a later host time', () => {
  const fix: GnssFix = { latDeg: 48.1173, lonDeg: 11.516667, altMslM: 545.4, altEllipsoidM: 592.3, quality: 1, utc: '2024-05-01T12:00:00.25Z', receivedAtMs: 5000, talker: 'GN' };
  assert.deepEqual(fixToSigmf(fix), { geolocation: { type: 'Point', coordinates: [11.516667, 48.1173, 592.3] }, datetime: '2024-05-01T12:00:00.25Z' });
  assert.equal(gnssDatetimeAt(fix, 6500), '2024-05-01T12:00:01.750Z');
  assert.equal(gnssDatetimeAt({ ...fix, utc: undefined } as GnssFix, 6500), undefined);
});

test('a recording is stamped with the fix, and its meta stays schema-valid', async (t) => {
  const dir = tempDir(t, 'gnss');
  const base = `${dir}/rec`;
  const w = await SigmfWriter.open(base, { datatype: 'cf32_le', sampleRateHz: 1e6, freqHz: 915e6, durable: false });
  const fix: GnssFix = { latDeg: -33.5, lonDeg: 151.25, altMslM: 10, quality: 1, utc: '2024-05-01T12:00:00.12Z', receivedAtMs: 1000, talker: 'GP' };
  await stampRecording(w, fix, 1250);
  await w.append(new Float32Array(200));
  await w.finalize();
  const meta = assertMetaOnDiskValid(base, 'after stamping');
  assert.deepEqual(meta['global']['core:geolocation'], { type: 'Point', coordinates: [151.25, -33.5, 10] });
  assert.equal(meta['captures'].length, 1, 'stamping at sample 0 updates the first capture');
  assert.equal(meta['captures'][0]['core:datetime'], '2024-05-01T12:00:00.370Z');
  assert.equal(meta['captures'][0]['core:frequency'], 915e6);
});

test('end to end over a pty pair: a fake talker with garbage, and unplug ends cleanly', async () => {
  const pty = await openPtyPair();
  try {
    const rx = await GnssReceiver.open(pty.a, { baudRate: 9600 });
    const talker = await FakeGnssTalker.open(pty.b);
    const first = rx.waitForFix(3000, false);
    const text =
      '\u00a5\u0001noise\r\n' +
      `${GGA.replace('*47', '*11')}\r\n` +
      `${nmeaSentence('GNGGA,080910.00,5130.1234,N,00007.5678,W,2,12,0.7,35.2,M,47.1,M,1.0,0000')}\r\n` +
      `${nmeaSentence('GNRMC,080910.00,A,5130.1234,N,00007.5678,W,0.02,,150624,,,D')}\r\n`;
    await talker.talk(text, 13);
    const f = await first;
    assert.ok(Math.abs(f.latDeg - (51 + 30.1234 / 60)) < 1e-9);
    assert.ok(Math.abs(f.lonDeg + (0 + 7.5678 / 60)) < 1e-9);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(rx.latestFix!.utc, '2024-06-15T08:09:10.00Z');
    assert.equal(rx.latestFix!.quality, 2);
    assert.equal(rx.stats.badChecksum, 1);
    assert.equal(rx.stats.garbage, 1);
    const gone = new Promise<AccessoryGoneError>((resolve) => rx.once('gone', resolve));
    const waiting = rx.waitForFix(5000, false);
    pty.unplug();
    const e = await gone;
    assert.match(e.message, /serial accessory on .* is gone/);
    await assert.rejects(waiting, AccessoryGoneError);
    assert.ok(rx.latestFix, 'the last fix is kept after unplug');
    await rx.close();
    await talker.close();
  } finally {
    await pty.close();
  }
});
