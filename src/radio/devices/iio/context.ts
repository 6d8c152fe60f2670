/**
 * The IIO context as iiod describes it in answer to PRINT: an XML document listing devices, their channels
 * (with scan-element formats for buffer-capable devices) and attribute names. The Pluto driver takes every
 * device, channel and attribute name from here, never from memory, because firmware versions number the
 * devices differently (`iio:device1` is ad9361-phy on one firmware, `iio:device0` on another).
 *
 * Facts used (from libiio 0.24, read to learn the format, no code taken):
 *  - The XML has a DOCTYPE with an internal DTD; elements `context`, `context-attribute`, `device`,
 *    `channel`, `scan-element`, `attribute`, `debug-attribute`, `buffer-attribute`.
 *  - A scan-element format reads `le:S12/16>>0`: endianness, sign (upper case = fully defined), bits,
 *    storage bits, optional `Xrepeat`, shift.
 *  - Clients number a device's channels after sorting them by scan index (scan elements first, in index
 *    order; channels without an index keep their order after them). A channel's number is its bit in the
 *    OPEN mask, printed as 8-hex-digit words, most significant word first.
 *
 * This module is pure (strings in, objects out); the fake iiod server uses `contextToXml` to answer PRINT.
 */
import { DeviceIoError } from '../types.js';

export interface IioDataFormat {
  bigEndian: boolean;
  signed: boolean;
  /** Significant bits (12 for the AD9361's ADC). */
  bits: number;
  /** Storage bits per repeat (16). */
  storageBits: number;
  repeat: number;
  shift: number;
  /** Upper-case sign letter: the value occupies the storage fully defined. */
  fullyDefined: boolean;
}

export interface IioChannelModel {
  id: string;
  name?: string;
  output: boolean;
  /** Present for scan elements (channels that carry buffer samples). */
  scan?: { index: number; format: IioDataFormat; scale?: number };
  /** Attribute names as clients use them (`frequency`), and the sysfs file name when known. */
  attrs: { name: string; filename?: string }[];
}

export interface IioDeviceModel {
  id: string;
  name?: string;
  label?: string;
  channels: IioChannelModel[];
  attrs: string[];
  bufferAttrs: string[];
  debugAttrs: string[];
}

export interface IioContextModel {
  name: string;
  description?: string;
  versionMajor: number;
  versionMinor: number;
  versionGit: string;
  attrs: { name: string; value: string }[];
  devices: IioDeviceModel[];
}

/** Parses `le:S12/16>>0` (also `be:u16/16X2>>4`). */
export function parseDataFormat(text: string): IioDataFormat {
  const m = /^([lb])e:([sSuU])(\d+)\/(\d+)(?:X(\d+))?>>(\d+)$/.exec(text);
  if (!m) throw new DeviceIoError(`iiod context: scan-element format '${text}' is not like 'le:S12/16>>0'`);
  const f: IioDataFormat = {
    bigEndian: m[1] === 'b',
    signed: m[2] === 's' || m[2] === 'S',
    fullyDefined: m[2] === 'S' || m[2] === 'U',
    bits: Number(m[3]),
    storageBits: Number(m[4]),
    repeat: m[5] === undefined ? 1 : Number(m[5]),
    shift: Number(m[6]),
  };
  if (f.bits < 1 || f.bits > f.storageBits || f.storageBits % 8 !== 0 || f.storageBits > 64) {
    throw new DeviceIoError(`iiod context: scan-element format '${text}' has bits/storage that no client can read`);
  }
  return f;
}

export function formatDataFormat(f: IioDataFormat): string {
  const s = f.signed ? (f.fullyDefined ? 'S' : 's') : f.fullyDefined ? 'U' : 'u';
  return `${f.bigEndian ? 'be' : 'le'}:${s}${f.bits}/${f.storageBits}${f.repeat > 1 ? `X${f.repeat}` : ''}>>${f.shift}`;
}

/** Channels in the order clients number them (see the module comment); index in the result = mask bit. */
export function numberedChannels(dev: IioDeviceModel): IioChannelModel[] {
  const scan = dev.channels.filter((c) => c.scan).sort((a, b) => a.scan!.index - b.scan!.index || a.scan!.format.shift - b.scan!.format.shift);
  return [...scan, ...dev.channels.filter((c) => !c.scan)];
}

/** The channel mask as OPEN sends it: ceil(channels / 32) words of 8 hex digits, most significant first. */
export function formatChannelMask(dev: IioDeviceModel, enabled: IioChannelModel[]): string {
  const chans = numberedChannels(dev);
  const words = new Uint32Array(Math.ceil(chans.length / 32));
  for (const c of enabled) {
    const n = chans.indexOf(c);
    if (n < 0) throw new DeviceIoError(`channel ${c.id} is not a channel of ${dev.id}`);
    words[n >>> 5]! |= 1 << (n & 31);
  }
  let s = '';
  for (let i = words.length - 1; i >= 0; i--) s += (words[i]! >>> 0).toString(16).padStart(8, '0');
  return s;
}

/** The inverse of `formatChannelMask`; undefined when the text is not `words * 8` hex digits. */
export function parseChannelMask(dev: IioDeviceModel, mask: string): IioChannelModel[] | undefined {
  const chans = numberedChannels(dev);
  const nWords = Math.ceil(chans.length / 32);
  if (mask.length !== nWords * 8 || !/^[0-9a-fA-F]*$/.test(mask)) return undefined;
  const out: IioChannelModel[] = [];
  for (let n = 0; n < chans.length; n++) {
    const word = parseInt(mask.slice((nWords - 1 - (n >>> 5)) * 8, (nWords - (n >>> 5)) * 8), 16);
    if ((word >>> (n & 31)) & 1) out.push(chans[n]!);
  }
  return out;
}

/**
 * Bytes of one sample over the enabled channels, each aligned to its own size (as libiio lays out a
 * buffer); channels sharing a scan index count once.
 */
export function sampleSize(dev: IioDeviceModel, enabled: IioChannelModel[]): number {
  let size = 0;
  let prevIndex: number | undefined;
  for (const c of numberedChannels(dev)) {
    if (!c.scan || !enabled.includes(c)) continue;
    if (prevIndex === c.scan.index) continue;
    const len = (c.scan.format.storageBits / 8) * c.scan.format.repeat;
    size = size % len ? size + 2 * len - (size % len) : size + len;
    prevIndex = c.scan.index;
  }
  return size;
}

/** Finds a device by id, label or name, as iiod and iio_context_find_device do. */
export function findDevice(ctx: IioContextModel, word: string): IioDeviceModel | undefined {
  return ctx.devices.find((d) => d.id === word || d.label === word || d.name === word);
}

/** Finds a channel by id or name in one direction, as iio_device_find_channel does. */
export function findChannel(dev: IioDeviceModel, word: string, output: boolean): IioChannelModel | undefined {
  return dev.channels.find((c) => c.output === output && (c.id === word || c.name === word));
}

// --- XML -------------------------------------------------------------------------------------------------

const DTD =
  '<!DOCTYPE context [' +
  '<!ELEMENT context (device | context-attribute)*>' +
  '<!ELEMENT context-attribute EMPTY>' +
  '<!ELEMENT device (channel | attribute | debug-attribute | buffer-attribute)*>' +
  '<!ELEMENT channel (scan-element?, attribute*)>' +
  '<!ELEMENT attribute EMPTY>' +
  '<!ELEMENT scan-element EMPTY>' +
  '<!ELEMENT debug-attribute EMPTY>' +
  '<!ELEMENT buffer-attribute EMPTY>' +
  '<!ATTLIST context name CDATA #REQUIRED version-major CDATA #REQUIRED version-minor CDATA #REQUIRED version-git CDATA #REQUIRED description CDATA #IMPLIED>' +
  '<!ATTLIST context-attribute name CDATA #REQUIRED value CDATA #REQUIRED>' +
  '<!ATTLIST device id CDATA #REQUIRED name CDATA #IMPLIED label CDATA #IMPLIED>' +
  '<!ATTLIST channel id CDATA #REQUIRED type (input|output) #REQUIRED name CDATA #IMPLIED>' +
  '<!ATTLIST scan-element index CDATA #REQUIRED format CDATA #REQUIRED scale CDATA #IMPLIED>' +
  '<!ATTLIST attribute name CDATA #REQUIRED filename CDATA #IMPLIED>' +
  '<!ATTLIST debug-attribute name CDATA #REQUIRED>' +
  '<!ATTLIST buffer-attribute name CDATA #REQUIRED>' +
  ']>';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

function attrs(pairs: [string, string | number | undefined][]): string {
  return pairs.filter(([, v]) => v !== undefined).map(([k, v]) => ` ${k}="${esc(String(v))}"`).join('');
}

/** The context as iiod prints it (one line, DTD included, which libxml2 in libiio validates against). */
export function contextToXml(ctx: IioContextModel): string {
  let x = '<?xml version="1.0" encoding="utf-8"?>' + DTD;
  x += `<context${attrs([
    ['name', ctx.name],
    ['version-major', ctx.versionMajor],
    ['version-minor', ctx.versionMinor],
    ['version-git', ctx.versionGit],
    ['description', ctx.description],
  ])} >`;
  for (const a of ctx.attrs) x += `<context-attribute${attrs([['name', a.name], ['value', a.value]])} />`;
  for (const d of ctx.devices) {
    x += `<device${attrs([['id', d.id], ['name', d.name], ['label', d.label]])} >`;
    for (const c of d.channels) {
      x += `<channel${attrs([['id', c.id], ['name', c.name], ['type', c.output ? 'output' : 'input']])} >`;
      if (c.scan) {
        x += `<scan-element${attrs([['index', c.scan.index], ['format', formatDataFormat(c.scan.format)], ['scale', c.scan.scale]])} />`;
      }
      for (const a of c.attrs) x += `<attribute${attrs([['name', a.name], ['filename', a.filename]])} />`;
      x += '</channel>';
    }
    for (const a of d.attrs) x += `<attribute${attrs([['name', a]])} />`;
    for (const a of d.debugAttrs) x += `<debug-attribute${attrs([['name', a]])} />`;
    for (const a of d.bufferAttrs) x += `<buffer-attribute${attrs([['name', a]])} />`;
    x += '</device>';
  }
  return x + '</context>';
}

interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|\w+);/g, (whole, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return ENTITIES[e] ?? whole;
  });
}

/**
 * A small parser for the XML subset iiod prints: elements with quoted attributes, a prolog, comments and a
 * DOCTYPE with an internal subset (skipped). Text content is ignored (the format has none).
 */
function parseXml(xml: string): XmlElement {
  let i = 0;
  const fail = (why: string): never => {
    throw new DeviceIoError(`iiod context XML is malformed at byte ${i}: ${why}`);
  };
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    if (lt < 0) break;
    i = lt;
    if (xml.startsWith('<?', i)) {
      const end = xml.indexOf('?>', i);
      if (end < 0) fail('unterminated <?');
      i = end + 2;
    } else if (xml.startsWith('<!--', i)) {
      const end = xml.indexOf('-->', i);
      if (end < 0) fail('unterminated comment');
      i = end + 3;
    } else if (xml.startsWith('<!DOCTYPE', i)) {
      // Skip to the '>' that closes the DOCTYPE, past an internal subset in [ ... ].
      const bracket = xml.indexOf('[', i);
      const gt = xml.indexOf('>', i);
      if (gt < 0) fail('unterminated DOCTYPE');
      if (bracket >= 0 && bracket < gt) {
        const close = xml.indexOf(']', bracket);
        if (close < 0) fail('unterminated DOCTYPE subset');
        const after = xml.indexOf('>', close);
        if (after < 0) fail('unterminated DOCTYPE');
        i = after + 1;
      } else i = gt + 1;
    } else if (xml.startsWith('</', i)) {
      const gt = xml.indexOf('>', i);
      if (gt < 0) fail('unterminated end tag');
      const name = xml.slice(i + 2, gt).trim();
      const top = stack.pop();
      if (!top || top.name !== name) fail(`</${name}> does not close <${top?.name ?? '(nothing)'}>`);
      i = gt + 1;
    } else {
      const m = /^<([A-Za-z_][\w.-]*)/.exec(xml.slice(i, i + 200));
      if (!m) fail('expected an element name');
      const el: XmlElement = { name: m![1]!, attrs: {}, children: [] };
      i += m![0].length;
      const attrRe = /\s*([A-Za-z_][\w.:-]*)\s*=\s*("([^"]*)"|'([^']*)')|\s*(\/?>)/y;
      let selfClosing = false;
      for (;;) {
        attrRe.lastIndex = i;
        const a = attrRe.exec(xml);
        if (!a) fail(`bad attribute in <${el.name}>`);
        i = attrRe.lastIndex;
        if (a![5] !== undefined) {
          selfClosing = a![5] === '/>';
          break;
        }
        el.attrs[a![1]!] = unescapeXml(a![3] ?? a![4] ?? '');
      }
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(el);
      else if (root) fail('more than one root element');
      else root = el;
      if (!selfClosing) stack.push(el);
    }
  }
  if (stack.length > 0) fail(`<${stack[stack.length - 1]!.name}> is not closed`);
  if (!root) fail('no root element');
  return root!;
}

function required(el: XmlElement, attr: string): string {
  const v = el.attrs[attr];
  if (v === undefined) throw new DeviceIoError(`iiod context XML: <${el.name}> lacks the required attribute '${attr}'`);
  return v;
}

/** Parses the XML that PRINT returns. Throws DeviceIoError naming what is wrong. */
export function parseContextXml(xml: string): IioContextModel {
  const root = parseXml(xml);
  if (root.name !== 'context') throw new DeviceIoError(`iiod context XML: root element is <${root.name}>, expected <context>`);
  const ctx: IioContextModel = {
    name: required(root, 'name'),
    versionMajor: Number(root.attrs['version-major'] ?? 0),
    versionMinor: Number(root.attrs['version-minor'] ?? 0),
    versionGit: root.attrs['version-git'] ?? '',
    attrs: [],
    devices: [],
  };
  if (root.attrs['description'] !== undefined) ctx.description = root.attrs['description'];
  for (const el of root.children) {
    if (el.name === 'context-attribute') ctx.attrs.push({ name: required(el, 'name'), value: required(el, 'value') });
    if (el.name !== 'device') continue;
    const dev: IioDeviceModel = { id: required(el, 'id'), channels: [], attrs: [], bufferAttrs: [], debugAttrs: [] };
    if (el.attrs['name'] !== undefined) dev.name = el.attrs['name'];
    if (el.attrs['label'] !== undefined) dev.label = el.attrs['label'];
    for (const c of el.children) {
      if (c.name === 'attribute') dev.attrs.push(required(c, 'name'));
      else if (c.name === 'debug-attribute') dev.debugAttrs.push(required(c, 'name'));
      else if (c.name === 'buffer-attribute') dev.bufferAttrs.push(required(c, 'name'));
      else if (c.name === 'channel') {
        const type = required(c, 'type');
        if (type !== 'input' && type !== 'output') throw new DeviceIoError(`iiod context XML: channel type '${type}' is not input or output`);
        const ch: IioChannelModel = { id: required(c, 'id'), output: type === 'output', attrs: [] };
        if (c.attrs['name'] !== undefined) ch.name = c.attrs['name'];
        for (const s of c.children) {
          if (s.name === 'scan-element') {
            ch.scan = { index: Number(required(s, 'index')), format: parseDataFormat(required(s, 'format')) };
            if (s.attrs['scale'] !== undefined) ch.scan.scale = Number(s.attrs['scale']);
          } else if (s.name === 'attribute') {
            const a: { name: string; filename?: string } = { name: required(s, 'name') };
            if (s.attrs['filename'] !== undefined) a.filename = s.attrs['filename'];
            ch.attrs.push(a);
          }
        }
        dev.channels.push(ch);
      }
    }
    ctx.devices.push(dev);
  }
  return ctx;
}
