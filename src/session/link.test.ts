import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import {
  connectLink,
  encodeMessage,
  LinkClosedError,
  LinkConnectError,
  linkPair,
  LinkProtocolError,
  LinkServer,
  MessageDecoder,
  nextMessage,
  parseEndpoint,
  type Envelope,
} from './link.js';

test('in-process pair: messages and attachments arrive copied, in order; close reaches the peer', async () => {
  const [a, b] = linkPair('a', 'b');
  const got: Envelope[] = [];
  b.on('message', (e: Envelope) => got.push(e));
  const msg = { type: 'job', n: 1, nested: { x: [1, 2] } };
  const data = new Uint8Array([1, 2, 3]);
  await a.send(msg, data);
  await a.send({ type: 'job', n: 2 });
  msg.nested.x.push(3);
  data[0] = 9;
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(got.map((e) => e.msg['n']), [1, 2]);
  assert.deepEqual((got[0]!.msg['nested'] as { x: number[] }).x, [1, 2]);
  assert.deepEqual([...got[0]!.data!], [1, 2, 3]);
  const closed = new Promise<Error>((r) => b.once('close', r));
  await a.close();
  assert.ok((await closed) instanceof LinkClosedError);
  await assert.rejects(b.send({ type: 'x' }), LinkClosedError);
});

test('decoder reassembles messages split at every byte and rejects garbage with a clear error', () => {
  const wire = Buffer.concat([encodeMessage({ type: 'a', v: 'ü' }, new Uint8Array(1000).fill(7)), encodeMessage({ type: 'b' })]);
  const dec = new MessageDecoder();
  const out: Envelope[] = [];
  for (let i = 0; i < wire.length; i++) out.push(...dec.push(wire.subarray(i, i + 1)));
  assert.deepEqual(out.map((e) => e.msg.type), ['a', 'b']);
  assert.equal(out[0]!.msg['v'], 'ü');
  assert.equal(out[0]!.data!.length, 1000);
  assert.equal(out[1]!.data, undefined);
  assert.throws(() => new MessageDecoder().push(Buffer.from('GET / HTTP/1.1\r\n\r\n')), (e: Error) => e instanceof LinkProtocolError && /not a DeKA-g session message/.test(e.message));
  const huge = Buffer.alloc(12);
  huge.writeUInt32BE(0x444b4731, 0);
  huge.writeUInt32BE(5 << 20, 4);
  assert.throws(() => new MessageDecoder().push(huge), /out of range/);
  const notObj = encodeMessage({ type: 'x' });
  const bad = Buffer.concat([notObj.subarray(0, 12), Buffer.from('[1,2,3,4,5,6,7,8,9,10,11,12]'.slice(0, notObj.length - 12))]);
  assert.throws(() => new MessageDecoder().push(bad), LinkProtocolError);
});

test('TCP: a message with a 1 MB attachment crosses a real socket both ways', async () => {
  const server = await LinkServer.listen('127.0.0.1', 0);
  assert.equal(server.host, '127.0.0.1');
  const accepted = server.accept();
  const client = await connectLink('127.0.0.1', server.port);
  const peer = await accepted;
  const big = new Uint8Array(1 << 20);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
  const p = nextMessage(peer, (e) => e.msg.type === 'blob');
  await client.send({ type: 'blob', seq: 5 }, big);
  const e = await p;
  assert.equal(e.msg['seq'], 5);
  assert.deepEqual(e.data, big);
  const back = nextMessage(client, (x) => x.msg.type === 'ack');
  await peer.send({ type: 'ack' });
  assert.equal((await back).msg.type, 'ack');
  const closed = new Promise<Error>((r) => peer.once('close', r));
  await client.close();
  assert.match((await closed).message, /closed/);
  await server.close();
});

test('TCP: garbage from a peer closes the link with a protocol error; nothing reaches the role', async () => {
  const server = await LinkServer.listen('127.0.0.1', 0);
  const accepted = server.accept();
  const raw = connect({ host: '127.0.0.1', port: server.port });
  const link = await accepted;
  let messages = 0;
  link.on('message', () => messages++);
  const closed = new Promise<Error>((r) => link.once('close', r));
  raw.write('hello there, this is not a dekag message');
  const err = await closed;
  assert.ok(err instanceof LinkProtocolError, err.message);
  assert.equal(messages, 0);
  raw.destroy();
  await server.close();
});

test('TCP: connecting to nothing fails clearly after the retry window; a late server is found', async () => {
  const probe = await LinkServer.listen('127.0.0.1', 0);
  const port = probe.port;
  await probe.close();
  await assert.rejects(connectLink('127.0.0.1', port, { timeoutMs: 300, retryMs: 50, what: 'the cloud' }), (e: Error) => e instanceof LinkConnectError && /cannot reach the cloud at 127\.0\.0\.1:\d+ within 300 ms \(ECONNREFUSED\)/.test(e.message));
  const late = connectLink('127.0.0.1', port, { timeoutMs: 5000, retryMs: 50 });
  await new Promise((r) => setTimeout(r, 200));
  const server = await LinkServer.listen('127.0.0.1', port);
  const link = await late;
  assert.ok(link.isOpen);
  await link.close();
  await server.close();
});

test('endpoints default to 127.0.0.1 and bad ones are named', () => {
  assert.deepEqual(parseEndpoint('7000', '--listen'), { host: '127.0.0.1', port: 7000 });
  assert.deepEqual(parseEndpoint('0.0.0.0:7000', '--listen'), { host: '0.0.0.0', port: 7000 });
  assert.deepEqual(parseEndpoint('[::1]:7', '--cloud'), { host: '::1', port: 7 });
  assert.throws(() => parseEndpoint('localhost:http', '--cloud'), /--cloud 'localhost:http' is not \[HOST:\]PORT/);
  assert.throws(() => parseEndpoint('70000', '--listen'), LinkConnectError);
});

test('nextMessage times out and rejects when the link closes', async () => {
  const [a, b] = linkPair();
  await assert.rejects(nextMessage(a, () => true, 30), /no answer within 30 ms/);
  const p = nextMessage(a, () => true);
  await b.close();
  await assert.rejects(p, LinkClosedError);
});
