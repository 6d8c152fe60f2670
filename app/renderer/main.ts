/**
 * The UI. It talks to the engine only through a DekagBridge: `window.dekag` from Electron's preload, or
 * the WebSocket client in browser mode. No Node, no Electron, no engine code here (types only).
 *
 * The engine's state is the truth: the page loads it (`state()`) when it connects and again after every
 * reconnect, and applies the 'state' event the engine broadcasts to every tab whenever its radio, session,
 * recording or distillation changes. So a reloaded page, or a second tab, shows and controls the same
 * session (either can stop it). Buttons are enabled from that state, never from what this tab did.
 */
import type {
  ConnectedDevice,
  DekagBridge,
  DeviceSummary,
  EngineEvent,
  EngineInfo,
  EngineSnapshot,
  EngineState,
  ExportFormat,
  ExportedFile,
  ImageRecordView,
  SessionHistoryRow,
  LoopbackChannelSettings,
  RadioRole,
  SessionRequest,
  SessionStateView,
  SnrPlan,
  VocabularyInfo,
} from '../../src/server/api.js';
import { LiveCharts } from './charts.js';
import { completions, currentWord, replaceCurrentWord } from './autocomplete.js';
import { checkPromptText, plainApiError, readNumberFields, type NumberSpec } from './fields.js';
import { connectWebSocket, type LinkState } from './ws-client.js';

declare global {
  interface Window {
    dekag?: DekagBridge;
    /** For the end-to-end tests: what the live view holds, and the engine state this page last applied. */
    dekagUi?: { charts: LiveCharts; images: number; lastRecord: ImageRecordView | undefined; state: EngineState | undefined; link: LinkState['state'] };
  }
}

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
};

/** A transparent pixel for an image slot the session did not fill (keeps the slot's background, no broken-image icon). */
const BLANK = 'data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7';

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function showScreen(name: string): void {
  for (const s of document.querySelectorAll<HTMLElement>('.screen')) s.classList.toggle('active', s.dataset['screen'] === name);
  for (const b of document.querySelectorAll<HTMLElement>('nav button')) b.setAttribute('aria-selected', String(b.dataset['screen'] === name));
}

function badge(id: string, text: string, state: 'on' | 'bad' | '' = ''): void {
  const el = $(id);
  el.textContent = text;
  el.classList.toggle('on', state === 'on');
  el.classList.toggle('bad', state === 'bad');
}

/** A form's message line: an error (red, role alert) or a confirmation (green); '' clears it. */
function message(id: string, text: string, kind: 'error' | 'ok' = 'error'): void {
  const el = $(id);
  el.textContent = text;
  el.classList.toggle('error', kind === 'error');
  el.classList.toggle('ok', kind === 'ok');
}

/** "3 gaps, 12,288 samples lost (1.1 %)": what a recording lost, in the list and live. */
function lossText(dropped: number, gaps: number, kept: number): string {
  return `${gaps} gap${gaps === 1 ? '' : 's'}, ${dropped.toLocaleString('en')} samples lost (${((100 * dropped) / Math.max(1, dropped + kept)).toFixed(1)} %)`;
}

/** Marks the fields with errors (red border, aria-invalid, the error as their title) and clears the others. */
function markFields(inputs: HTMLElement[], invalid: Map<HTMLElement, string>): void {
  for (const el of inputs) {
    const why = invalid.get(el);
    el.classList.toggle('invalid', why !== undefined);
    if (why !== undefined) {
      el.setAttribute('aria-invalid', 'true');
      el.title = why;
    } else {
      el.removeAttribute('aria-invalid');
      el.removeAttribute('title');
    }
  }
}

interface NumberField {
  el: HTMLInputElement;
  spec: NumberSpec;
}

/**
 * Reads number fields: the values, or null after showing every error in `msgId` (each naming its field)
 * and marking the fields (the first one gets the focus).
 */
function readFields<K extends string>(fields: Record<K, NumberField>, msgId: string): Record<K, number> | null {
  const keys = Object.keys(fields) as K[];
  const r = readNumberFields(keys.map((key) => ({ key, raw: fields[key].el.value, badInput: fields[key].el.validity.badInput, spec: fields[key].spec })));
  const els = keys.map((k) => fields[k].el);
  if (r.ok) {
    markFields(els, new Map());
    return r.values;
  }
  markFields(els, new Map(r.errors.map((e) => [fields[e.key].el, e.error])));
  message(msgId, r.errors.map((e) => e.error).join('. '));
  fields[r.errors[0]!.key].el.focus();
  return null;
}

/** Any edit in a form clears its stale message and the edited field's mark. */
function clearOnEdit(form: HTMLElement, msgId: string): void {
  form.addEventListener('input', (ev) => {
    message(msgId, '');
    const t = ev.target as HTMLElement;
    if (t.classList.contains('invalid')) markFields([t], new Map());
  });
}

/** 1234567 -> '1.2 MB' (decimal units, as file managers show them). */
function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1000;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

function fmt(v: number): string {
  return String(Math.round(v * 1e6) / 1e6);
}

async function main(): Promise<void> {
  for (const b of document.querySelectorAll<HTMLElement>('nav button')) b.addEventListener('click', () => showScreen(b.dataset['screen']!));
  showScreen('devices');

  // ---------------------------------------------------------------------------------------------
  // the link to the engine: a plain banner when it is lost, automatic reconnect, a Reconnect button

  let link: LinkState = { state: 'closed', attempt: 0, retryAtMs: Date.now() };
  let countdown = 0;
  let resync: () => Promise<void> = async () => undefined;
  /** Set once the controls exist: greys out what cannot reach the engine. */
  let offline: () => void = () => undefined;
  const showLink = (s: LinkState): void => {
    link = s;
    if (window.dekagUi) window.dekagUi.link = s.state;
    const banner = $('engine-banner');
    clearInterval(countdown);
    if (s.state === 'open') {
      banner.hidden = true;
      badge('link-status', 'engine connected', 'on');
      if (s.reconnected) void resync();
      return;
    }
    badge('link-status', 'engine disconnected', 'bad');
    banner.hidden = false;
    const tick = (): void => {
      const secs = Math.max(0, Math.ceil((s.retryAtMs - Date.now()) / 1000));
      $('engine-banner-text').textContent =
        `Is \`dekag serve\` still running? Trying again ${secs > 0 ? `in ${secs} s` : 'now'} (attempt ${s.attempt}). ` +
        'Nothing shown here is current until it reconnects; a server started with --new-token needs its new link.';
    };
    tick();
    countdown = window.setInterval(tick, 1000);
    // What the page showed is no longer known: no "running", no Stop that cannot reach the engine.
    offline();
  };
  const ws = window.dekag ? undefined : await connectWebSocket(location.href, showLink);
  const api: DekagBridge = window.dekag ?? ws!;
  $('reconnect').addEventListener('click', () => ws?.reconnect());
  if (window.dekag) badge('link-status', 'engine connected', 'on');

  const charts = new LiveCharts(document);
  const ui: NonNullable<Window['dekagUi']> = { charts, images: 0, lastRecord: undefined, state: undefined, link: 'open' };
  window.dekagUi = ui;
  let vocab: VocabularyInfo | undefined;
  let info: EngineInfo | undefined;
  let maxPromptChars = 0;
  let state: EngineState | undefined;
  let connected: ConnectedDevice | null = null;
  /** The session whose images the live view shows, and the images already shown (events and state() may overlap). */
  let shownSession: string | undefined;
  const shownImages = new Set<string>();

  const log = (line: string): void => {
    const el = $('log');
    el.textContent = `${new Date().toLocaleTimeString()} ${line}\n${el.textContent ?? ''}`.slice(0, 8000);
  };

  // ---------------------------------------------------------------------------------------------
  // devices

  /** One row per radio: connect it as both ends (TX + RX), as the transmitter only or as the receiver only. */
  const renderDevices = (devices: DeviceSummary[]): void => {
    const body = $('device-table').querySelector('tbody')!;
    const connectAs = (d: DeviceSummary, role: RadioRole): void => {
      message('device-error', '');
      api.connectDevice({ id: d.id, role }).catch((e) => message('device-error', errorText(e)));
    };
    body.replaceChildren(
      ...devices.map((d) => {
        const tr = document.createElement('tr');
        tr.className = d.connected ? 'connected' : '';
        const name = document.createElement('td');
        name.textContent = d.label;
        name.title = d.id;
        const driver = document.createElement('td');
        driver.textContent = d.driver;
        const roles = document.createElement('td');
        roles.textContent = d.roles.length === 2 ? 'TX + RX' : d.roles.length === 1 ? d.roles[0]!.toUpperCase() : '';
        const act = document.createElement('td');
        const both = document.createElement('button');
        const isBoth = d.roles.length === 2;
        both.textContent = isBoth ? 'connected' : 'connect';
        both.title = 'as both ends (TX and RX) where the radio can; a receive-only radio becomes the RX end, a transmit-only one the TX end';
        both.disabled = isBoth;
        both.dataset['device'] = d.id;
        both.addEventListener('click', () => connectAs(d, 'both'));
        // 'as TX' / 'as RX': disabled while the radio holds exactly that one role (data-device-tx / -rx)
        const asOneEnd = (role: 'tx' | 'rx'): HTMLButtonElement => {
          const b = document.createElement('button');
          b.textContent = `as ${role.toUpperCase()}`;
          b.className = 'small';
          b.disabled = d.roles.includes(role) && !isBoth;
          b.dataset[role === 'tx' ? 'deviceTx' : 'deviceRx'] = d.id;
          b.addEventListener('click', () => connectAs(d, role));
          return b;
        };
        act.append(both, ' ', asOneEnd('tx'), ' ', asOneEnd('rx'));
        tr.append(name, driver, roles, act);
        return tr;
      }),
    );
  };
  $('net-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    message('net-msg', '');
    const driver = $<HTMLSelectElement>('net-driver').value === 'pluto' ? 'pluto' : 'rtl_tcp';
    const host = $<HTMLInputElement>('net-host').value.trim();
    const portText = $<HTMLInputElement>('net-port').value.trim();
    const hostOk = /^(?=.*[A-Za-z0-9])[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(host) && host.length <= 253;
    const port = portText === '' ? undefined : Number(portText);
    const bad: HTMLInputElement[] = [];
    const why = new Map<HTMLElement, string>();
    if (!hostOk) {
      bad.push($<HTMLInputElement>('net-host'));
      why.set($('net-host'), 'Host: a host name or IPv4 address, e.g. 127.0.0.1');
    }
    if (port !== undefined && !(Number.isInteger(port) && port >= 1 && port <= 65535)) {
      bad.push($<HTMLInputElement>('net-port'));
      why.set($('net-port'), 'Port: a whole number from 1 to 65535 (empty: 1234 for rtl_tcp, the default for a Pluto)');
    }
    markFields([$('net-host'), $('net-port')], why);
    if (bad.length) {
      message('net-msg', [...why.values()].join('; '));
      return;
    }
    api.addNetworkRadio(port === undefined ? { driver, host } : { driver, host, port }).then(
      (devices) => {
        renderDevices(devices);
        message('net-msg', `Added ${driver === 'rtl_tcp' ? `rtl_tcp server ${host}:${port ?? 1234}` : `Pluto at ${host}${port ? `:${port}` : ''}`}; connect it as TX or RX above`, 'ok');
      },
      (e) => message('net-msg', errorText(e)),
    );
  });
  $('att-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const port = $<HTMLInputElement>('att-port').value.trim();
    const ok = /^(\/dev\/(?!.*\.\.)[A-Za-z0-9._/-]+|COM[0-9]{1,3})$/.test(port);
    markFields([$('att-port')], ok ? new Map() : new Map([[$('att-port'), 'Serial port: a device path like /dev/ttyUSB0 (COM3 on Windows)']]));
    if (!ok) {
      message('att-msg', 'Serial port: a device path like /dev/ttyUSB0 (COM3 on Windows)');
      return;
    }
    message('att-msg', '');
    api.connectAttenuator({ port }).then(
      (a) => message('att-msg', `Attenuator on ${a.port} answers (${a.attenuationDb ?? '?'} dB); SNR sweeps now set it`, 'ok'),
      (e) => message('att-msg', errorText(e)),
    );
  });
  $('att-disconnect').addEventListener('click', () => {
    api.disconnectAttenuator().then(
      () => message('att-msg', 'Attenuator disconnected; sweeps use the loopback again', 'ok'),
      (e) => message('att-msg', errorText(e)),
    );
  });
  const refreshDevices = (): Promise<void> => api.listDevices().then(renderDevices, (e) => message('device-error', errorText(e)));

  const gainInputs = (): HTMLInputElement[] => [...$('gains').querySelectorAll<HTMLInputElement>('input')];
  const renderConnected = (d: ConnectedDevice | null, txDev: ConnectedDevice | null = null, radios?: EngineState['radios']): void => {
    connected = d;
    $('device-settings').hidden = !d;
    // the loopback's channel applies when the loopback carries both ends
    $('channel-settings').hidden = !d?.channel || !!txDev || (radios !== undefined && radios.tx !== radios.rx);
    const short = (x: ConnectedDevice): string => x.label.split(' (')[0]!;
    const radioText = !d ? 'no radio' : txDev ? `TX ${short(txDev)} → RX ${short(d)}` : radios && radios.tx !== radios.rx ? `${radios.rx ? 'RX' : 'TX'} only: ${short(d)}` : short(d);
    badge('radio-status', radioText, d ? 'on' : '');
    $('radio-ends').textContent = !d
      ? ''
      : `Transmits: ${radios?.tx ?? (d.tx ? d.id : 'none')}; receives: ${radios?.rx ?? (d.rx ? d.id : 'none')}.` +
        (txDev ? ` Frequency and sample rate apply to both radios; each gain to the radio that has it.` : '') +
        (radios && (!radios.tx || !radios.rx) ? ` A session needs both: connect a radio ${radios.tx ? 'as RX' : 'as TX'}.` : '');
    if (!d) return;
    $('device-label').textContent = txDev ? `${d.label} (RX) and ${txDev.label} (TX)` : d.label;
    $<HTMLInputElement>('freq').value = fmt(d.settings.freqHz / 1e6);
    $<HTMLInputElement>('rate-sps').value = fmt(d.settings.sampleRateHz / 1e6);
    $<HTMLInputElement>('freq').min = fmt(d.freqRangeHz[0] / 1e6);
    $<HTMLInputElement>('freq').max = fmt(d.freqRangeHz[1] / 1e6);
    const gains = $('gains');
    gains.replaceChildren(
      ...d.gains
        .filter((g) => g.direction === 'rx' || d.tx)
        .map((g) => {
          const l = document.createElement('label');
          const input = document.createElement('input');
          Object.assign(input, { type: 'number', min: String(g.minDb), max: String(g.maxDb), step: String(g.stepDb), value: String(d.settings.gainsDb[g.name] ?? g.minDb) });
          input.dataset['gain'] = g.name;
          input.id = `gain-${g.name}`;
          l.append(`${g.name} gain (dB) `, input);
          return l;
        }),
    );
    if (d.channel) fillChannel(d.channel);
  };
  const fillChannel = (c: LoopbackChannelSettings): void => {
    $('ch-snr-now').textContent = `${c.snrDb} dB`;
    // the Session screen's Channel SNR is the one SNR control: it shows where the channel is (a sweep moves
    // it), unless the user is typing in it
    if (document.activeElement !== $('snr-target')) $<HTMLInputElement>('snr-target').value = String(c.snrDb);
    $<HTMLInputElement>('ch-fading').checked = c.fading;
    $<HTMLInputElement>('ch-doppler').value = String(c.dopplerHz);
    $<HTMLInputElement>('ch-cfo').value = String(c.cfoHz);
    $<HTMLInputElement>('ch-sro').value = String(c.sroPpm);
    $<HTMLInputElement>('ch-pn').value = String(c.phaseNoiseLinewidthHz);
    $<HTMLSelectElement>('ch-quant').value = c.quantization;
  };
  $('refresh-devices').addEventListener('click', () => void refreshDevices());
  $('disconnect').addEventListener('click', () => {
    message('device-error', '');
    api.disconnectDevice().catch((e) => message('device-error', errorText(e)));
  });
  clearOnEdit($('device-form'), 'device-msg');
  $('device-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!connected) return;
    const range = connected.freqRangeHz;
    const rates = connected.sampleRateRangeHz;
    const fields: Record<string, NumberField> = {
      freq: { el: $<HTMLInputElement>('freq'), spec: { label: 'Frequency (MHz)', min: range[0] / 1e6, max: range[1] / 1e6 } },
      rate: { el: $<HTMLInputElement>('rate-sps'), spec: { label: 'Sample rate (Msps)', min: rates[0] / 1e6, max: rates[1] / 1e6 } },
    };
    for (const input of gainInputs()) {
      const g = connected.gains.find((x) => x.name === input.dataset['gain']);
      fields[`gain:${input.dataset['gain']}`] = { el: input, spec: { label: `${input.dataset['gain']} gain (dB)`, ...(g ? { min: g.minDb, max: g.maxDb } : {}) } };
    }
    const v = readFields(fields, 'device-msg');
    if (!v) return;
    const gainsDb: Record<string, number> = {};
    for (const [k, val] of Object.entries(v)) if (k.startsWith('gain:')) gainsDb[k.slice(5)] = val;
    api.configureDevice({ freqHz: v['freq']! * 1e6, sampleRateHz: v['rate']! * 1e6, gainsDb }).then(
      (s) =>
        message(
          'device-msg',
          `Applied: ${fmt(s.freqHz / 1e6)} MHz, ${fmt(s.sampleRateHz / 1e6)} Msps${Object.entries(s.gainsDb).map(([k, g]) => `, ${k} gain ${g} dB`).join('')}`,
          'ok',
        ),
      (e) => {
        const p = plainApiError(errorText(e), {
          'configureDevice.freqHz': { key: 'freq', label: 'Frequency' },
          'configureDevice.sampleRateHz': { key: 'rate', label: 'Sample rate' },
          'configureDevice.gainsDb': { key: 'gain', label: 'Gain' },
        });
        message('device-msg', p.message);
      },
    );
  });
  const channelFields = (): Record<'doppler' | 'cfo' | 'sro' | 'pn', NumberField> => ({
    doppler: { el: $<HTMLInputElement>('ch-doppler'), spec: { label: 'Doppler (Hz)', min: 0, max: 1000 } },
    cfo: { el: $<HTMLInputElement>('ch-cfo'), spec: { label: 'CFO (Hz)', min: -100000, max: 100000 } },
    sro: { el: $<HTMLInputElement>('ch-sro'), spec: { label: 'Clock offset (ppm)', min: -200, max: 200 } },
    pn: { el: $<HTMLInputElement>('ch-pn'), spec: { label: 'Phase noise (Hz)', min: 0, max: 10000 } },
  });
  clearOnEdit($('channel-form'), 'channel-msg');
  $('channel-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = readFields(channelFields(), 'channel-msg');
    if (!v) return;
    api
      .setLoopbackChannel({
        fading: $<HTMLInputElement>('ch-fading').checked,
        dopplerHz: v.doppler,
        cfoHz: v.cfo,
        sroPpm: v.sro,
        phaseNoiseLinewidthHz: v.pn,
        quantization: $<HTMLSelectElement>('ch-quant').value as LoopbackChannelSettings['quantization'],
      })
      .then(
        (c) => {
          fillChannel(c);
          message('channel-msg', `Applied: fading ${c.fading ? `on (Doppler ${c.dopplerHz} Hz)` : 'off'}, CFO ${c.cfoHz} Hz, clock ${c.sroPpm} ppm, phase noise ${c.phaseNoiseLinewidthHz} Hz, ADC ${c.quantization}; SNR ${c.snrDb} dB (Session screen)`, 'ok');
        },
        (e) => message('channel-msg', errorText(e)),
      );
  });

  // The one SNR control: Channel SNR on the Session screen. A session sets it on the channel image by image
  // (a sweep walks it); between sessions a change applies at once, so the idle spectrum shows it too.
  $('snr-target').addEventListener('change', () => {
    message('snr-msg', '');
    const d = state?.device;
    if (state?.session) {
      message('snr-msg', 'A session is running: the new Channel SNR applies to the next session');
      return;
    }
    if (!d?.channel || state?.txDevice) {
      if (d) message('snr-msg', `The testbed sets no SNR on ${d.label.split(' (')[0]} (no attenuator): a session reports the SNR it measures`);
      return;
    }
    const v = readFields({ target: { el: $<HTMLInputElement>('snr-target'), spec: { label: 'Channel SNR (dB)', min: -10, max: 60 } } }, 'snr-msg');
    if (!v) return;
    api.setLoopbackChannel({ snrDb: v.target }).then(
      (c) => message('snr-msg', `Channel SNR set to ${c.snrDb} dB on the loopback`, 'ok'),
      (e) => message('snr-msg', errorText(e)),
    );
  });

  // ---------------------------------------------------------------------------------------------
  // prompt: autocomplete and validation

  const prompt = $<HTMLTextAreaElement>('prompt');
  const list = $<HTMLUListElement>('suggestions');
  let selected = 0;
  let checkTimer = 0;
  let checkSeq = 0;
  const hideList = (): void => {
    list.hidden = true;
    list.replaceChildren();
  };
  const accept = (word: string): void => {
    const r = replaceCurrentWord(prompt.value, prompt.selectionStart, word);
    prompt.value = r.text;
    prompt.setSelectionRange(r.caret, r.caret);
    hideList();
    scheduleCheck();
    prompt.focus();
  };
  const showList = (): void => {
    if (!vocab) return;
    const { word } = currentWord(prompt.value, prompt.selectionStart);
    const options = completions(word, vocab.words, 8);
    if (options.length === 0 || (options.length === 1 && options[0] === word.toLowerCase())) return hideList();
    selected = 0;
    list.replaceChildren(
      ...options.map((w, i) => {
        const li = document.createElement('li');
        li.textContent = w;
        li.setAttribute('role', 'option');
        li.setAttribute('aria-selected', String(i === 0));
        li.addEventListener('mousedown', (e) => {
          e.preventDefault();
          accept(w);
        });
        return li;
      }),
    );
    list.hidden = false;
  };
  const scheduleCheck = (): void => {
    clearTimeout(checkTimer);
    checkTimer = window.setTimeout(() => {
      const seq = ++checkSeq;
      // Too long is refused here, before anything is sent (the engine refuses it too, with a reply).
      const local = maxPromptChars > 0 ? checkPromptText(prompt.value, maxPromptChars) : undefined;
      if (local && !local.ok && prompt.value.trim() !== '') {
        $('prompt-error').textContent = local.error;
        $('prompt-ok').textContent = '';
        prompt.classList.add('invalid');
        prompt.setAttribute('aria-invalid', 'true');
        return;
      }
      if (prompt.value.trim() === '') {
        $('prompt-error').textContent = '';
        $('prompt-ok').textContent = '';
        prompt.classList.remove('invalid');
        prompt.removeAttribute('aria-invalid');
        return;
      }
      api.checkPrompt({ prompt: prompt.value }).then((r) => {
        if (seq !== checkSeq) return; // an older answer arriving late
        prompt.classList.toggle('invalid', !r.ok);
        if (r.ok) prompt.removeAttribute('aria-invalid');
        else prompt.setAttribute('aria-invalid', 'true');
        $('prompt-error').textContent = r.ok ? '' : r.error;
        $('prompt-ok').textContent = r.ok ? `understood: ${Object.entries(r.attributes).map(([k, v]) => `${k} ${v}`).join(', ')}` : '';
      }, (e) => ($('prompt-error').textContent = errorText(e)));
    }, 150);
  };
  prompt.addEventListener('input', () => {
    showList();
    scheduleCheck();
  });
  prompt.addEventListener('blur', () => setTimeout(hideList, 100));
  prompt.addEventListener('keydown', (e) => {
    if (list.hidden) return;
    const items = [...list.children] as HTMLElement[];
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      selected = (selected + (e.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length;
      items.forEach((li, i) => li.setAttribute('aria-selected', String(i === selected)));
    } else if (e.key === 'Tab' || e.key === 'Enter') {
      e.preventDefault();
      accept(items[selected]!.textContent!);
    } else if (e.key === 'Escape') {
      hideList();
    }
  });

  // ---------------------------------------------------------------------------------------------
  // adapters and distillation

  const refreshAdapters = (select?: string): Promise<void> =>
    api.listAdapters().then((adapters) => {
      const sel = $<HTMLSelectElement>('adapter');
      const keep = select ?? sel.value;
      sel.replaceChildren(
        new Option("auto: the adapter for the prompt's subject", 'auto'),
        new Option('none (base edge model only)', 'none'),
        ...adapters.map((a) => new Option(`${a.name} (${a.subject}, ${(a.bytes / 1024).toFixed(0)} KB)`, a.name)),
      );
      sel.value = keep === 'none' || adapters.some((a) => a.name === keep) ? keep : 'auto';
    });
  $('distill-steps').addEventListener('input', () => {
    message('distill-status', '');
    markFields([$('distill-steps')], new Map());
  });
  $('distill').addEventListener('click', () => {
    message('distill-status', '');
    const v = readFields({ steps: { el: $<HTMLInputElement>('distill-steps'), spec: { label: 'Distillation steps', min: 1, max: 20000, integer: true } } }, 'distill-status');
    if (!v) return;
    api.distill({ subject: $<HTMLSelectElement>('subject').value, steps: v.steps, quick: $<HTMLInputElement>('distill-quick').checked }).catch((e) => message('distill-status', errorText(e)));
  });

  // ---------------------------------------------------------------------------------------------
  // session

  const sessionForm = $('session-form');
  const sessionFields = (): Record<string, NumberField> => {
    const mode = document.querySelector<HTMLInputElement>('input[name="snr-mode"]:checked')!.value;
    const f: Record<string, NumberField> =
      mode === 'sweep'
        ? {
            from: { el: $<HTMLInputElement>('sweep-from'), spec: { label: 'Sweep from (dB)', min: -10, max: 60 } },
            to: { el: $<HTMLInputElement>('sweep-to'), spec: { label: 'Sweep to (dB)', min: -10, max: 60 } },
            step: { el: $<HTMLInputElement>('sweep-step'), spec: { label: 'Sweep step (dB)', min: 0.5, max: 30 } },
            per: { el: $<HTMLInputElement>('sweep-per'), spec: { label: 'Images per step', min: 1, max: 20, integer: true } },
          }
        : { target: { el: $<HTMLInputElement>('snr-target'), spec: { label: 'Channel SNR (dB)', min: -10, max: 60 } } };
    if (mode !== 'sweep') f['images'] = { el: $<HTMLInputElement>('images'), spec: { label: 'Images', min: 1, max: 100, integer: true } };
    f['seed'] = { el: $<HTMLInputElement>('seed'), spec: { label: 'Seed', min: 0, max: 2 ** 32 - 1, integer: true } };
    return f;
  };
  /** Engine errors about session fields, in the page's words, and the field to mark. */
  const SESSION_LABELS: Record<string, { key: string; label: string }> = {
    'startSession.prompt': { key: 'prompt', label: 'Prompt' },
    'startSession.snr.snrDb': { key: 'target', label: 'Channel SNR (dB)' },
    'startSession.snr.fromDb': { key: 'from', label: 'Sweep from (dB)' },
    'startSession.snr.toDb': { key: 'to', label: 'Sweep to (dB)' },
    'startSession.snr.stepDb': { key: 'step', label: 'Sweep step (dB)' },
    'startSession.snr.imagesPerStep': { key: 'per', label: 'Images per step' },
    'startSession.snr': { key: 'step', label: 'The sweep' },
    'startSession.images': { key: 'images', label: 'Images' },
    'startSession.seed': { key: 'seed', label: 'Seed' },
    'startSession.adapter': { key: 'adapter', label: 'Adapter' },
  };
  /** The request, or null after naming and marking what is wrong. */
  const sessionRequest = (): SessionRequest | null => {
    const promptCheck = checkPromptText(prompt.value, maxPromptChars || Number.POSITIVE_INFINITY);
    const fields = sessionFields();
    const v = readFields(fields, 'session-error');
    markFields([prompt], promptCheck.ok ? new Map() : new Map([[prompt as HTMLElement, promptCheck.error]]));
    if (!promptCheck.ok) {
      const rest = $('session-error').textContent;
      message('session-error', v ? promptCheck.error : `${promptCheck.error}. ${rest}`);
      prompt.focus();
      return null;
    }
    if (!v) return null;
    const snr: SnrPlan = v['target'] === undefined ? { kind: 'sweep', fromDb: v['from']!, toDb: v['to']!, stepDb: v['step']!, imagesPerStep: v['per']! } : { kind: 'target', snrDb: v['target'] };
    const rate = $<HTMLSelectElement>('rate').value;
    return {
      prompt: prompt.value,
      adapter: $<HTMLSelectElement>('adapter').value === 'none' ? null : $<HTMLSelectElement>('adapter').value,
      snr,
      rate: rate === 'auto' ? 'auto' : Number(rate),
      images: v['images'] ?? 1,
      seed: v['seed']!,
    };
  };
  sessionForm.addEventListener('input', (ev) => {
    if (ev.target === prompt) return; // the prompt has its own live check
    message('session-error', '');
    const t = ev.target as HTMLElement;
    if (t.classList.contains('invalid')) markFields([t], new Map());
  });
  for (const r of document.querySelectorAll<HTMLInputElement>('input[name="snr-mode"]')) {
    r.addEventListener('change', () => {
      message('session-error', '');
      markFields([...sessionForm.querySelectorAll<HTMLElement>('input[type="number"]')], new Map());
    });
  }

  const sessionText = (s: SessionStateView): string => {
    if (s.loading) return `${s.kind === 'replay' ? 'replaying' : 'running'}: loading models… (${s.loading.join(', ')})`;
    if (s.kind === 'replay') {
      const r = s.replay;
      const played = r && r.totalSamples > 0 && r.sampleRateHz > 0
        ? `, ${(r.samples / r.sampleRateHz).toFixed(1)} s of ${(r.totalSamples / r.sampleRateHz).toFixed(1)} s (${Math.floor((100 * r.samples) / r.totalSamples)} %)`
        : '';
      return `replaying ${s.label}: ${s.imagesDone} image${s.imagesDone === 1 ? '' : 's'}${played}`;
    }
    const k = s.imagesTotal !== null ? `${s.imagesDone} of ${s.imagesTotal} images` : `${s.imagesDone} images`;
    const att = s.attenuationDb !== null ? `, ${s.sweepBy === 'attenuator' ? 'attenuator' : 'loopback attenuation'} ${s.attenuationDb} dB` : '';
    return `running: ${k}${s.configuredSnrDb !== null ? ` at ${s.configuredSnrDb} dB` : ''}${att}`;
  };
  /** The header's bar: indeterminate while models load, images done of the total, or a replay's samples played. */
  const sessionProgress = (s: SessionStateView | null): void => {
    const bar = $<HTMLProgressElement>('session-progress');
    bar.hidden = !s;
    if (!s) return;
    if (s.loading) bar.removeAttribute('value');
    else if (s.kind === 'replay' && s.replay && s.replay.totalSamples > 0) {
      bar.max = s.replay.totalSamples;
      bar.value = s.replay.samples;
    } else if (s.imagesTotal !== null) {
      bar.max = Math.max(1, s.imagesTotal);
      bar.value = s.imagesDone;
    } else bar.removeAttribute('value');
    bar.title = sessionText(s);
  };
  /** Which attenuates in a sweep: the serial attenuator when connected, else the loopback's channel. */
  const showAttenuator = (s: EngineState): void => {
    const a = s.attenuator;
    $('att-now').textContent = a
      ? `Connected: ${a.port}, ${a.attenuationDb === null ? 'attenuation not read' : `${a.attenuationDb} dB`}. SNR sweeps set its attenuation (over the air).`
      : 'None connected: SNR sweeps attenuate the loopback\'s signal (its noise floor stays).';
    $<HTMLButtonElement>('att-disconnect').disabled = !a || !!s.session;
    $<HTMLButtonElement>('att-connect').disabled = !!s.session;
    const loopBoth = !!s.device?.channel && !s.txDevice && s.radios.tx === s.radios.rx;
    $('sweep-by').textContent = a
      ? `A sweep sets the attenuator on ${a.port}: step s is attenuated by (highest − s) dB; the SNR over the air is measured, not set.`
      : loopBoth
        ? 'A sweep attenuates the loopback\'s signal by (highest − s) dB; the noise floor is fixed for the highest step.'
        : 'A sweep needs the loopback (as TX and RX) or a step attenuator (Devices screen).';
  };
  const setControls = (s: EngineState | undefined): void => {
    const online = link.state === 'open' || window.dekag !== undefined;
    const running = !!s?.session;
    $<HTMLButtonElement>('start').disabled = !online || running;
    $<HTMLButtonElement>('replay').disabled = !online || running;
    $<HTMLButtonElement>('stop').disabled = !online || !running;
    $<HTMLButtonElement>('disconnect').disabled = !online || running;
    $<HTMLButtonElement>('rec-start').disabled = !online || !s?.device || !!s?.recording;
    $<HTMLButtonElement>('rec-stop').disabled = !online || !s?.recording;
    $<HTMLButtonElement>('distill').disabled = !online || !info?.features.distill || s?.distill?.state === 'running';
  };
  offline = (): void => {
    badge('session-status', 'unknown: engine unreachable', 'bad');
    badge('radio-status', $('radio-status').textContent ?? '', ''); // not known to be connected any more
    setControls(state);
    setExportButtons();
  };

  $('start').addEventListener('click', () => {
    message('session-error', '');
    if (!connected) {
      message('session-error', 'Connect a radio first (Devices screen; the loopback radio is always there)');
      return;
    }
    const req = sessionRequest();
    if (!req) return;
    api.startSession(req).then(
      ({ sessionId }) => {
        log(`session ${sessionId} started`);
        showScreen('live');
      },
      (e) => {
        const p = plainApiError(errorText(e), SESSION_LABELS);
        message('session-error', p.message);
        const el = p.key === 'prompt' ? prompt : p.key ? (sessionFields()[p.key]?.el ?? null) : null;
        if (el) markFields([el], new Map([[el, p.message]]));
      },
    );
  });
  $('stop').addEventListener('click', () => {
    api.stopSession().catch((e) => log(`error: stop: ${errorText(e)}`));
  });

  // ---------------------------------------------------------------------------------------------
  // recording and replay

  let recordingNames = new Set<string>();
  /** A recording name that no recording in the folder has: rec-YYYYMMDD-HHMMSS (local time), -2, -3 … if taken. */
  const defaultRecordingName = (): string => {
    const d = new Date();
    const p2 = (n: number): string => String(n).padStart(2, '0');
    const stamp = `rec-${d.getFullYear()}${p2(d.getMonth() + 1)}${p2(d.getDate())}-${p2(d.getHours())}${p2(d.getMinutes())}${p2(d.getSeconds())}`;
    let name = stamp;
    for (let k = 2; recordingNames.has(name) || name === recPath?.split(/[\\/]/).pop(); k++) name = `${stamp}-${k}`;
    return name;
  };
  /** Offers a fresh default name unless the user typed one of their own that is still free. */
  const offerRecordingName = (): void => {
    const input = $<HTMLInputElement>('rec-name');
    if (input.dataset['auto'] === 'false' && input.value && !recordingNames.has(input.value)) return;
    input.value = defaultRecordingName();
    input.dataset['auto'] = 'true';
  };
  const refreshRecordings = (): Promise<void> =>
    api.listRecordings().then((recs) => {
      recordingNames = new Set(recs.map((r) => r.name));
      offerRecordingName();
      const sel = $<HTMLSelectElement>('rec-list');
      const keep = sel.value;
      sel.replaceChildren(
        ...recs.map((r) => new Option(`${r.name} (${(r.samples / r.sampleRateHz).toFixed(1)} s, ${r.datatype}${r.gaps > 0 ? `, ${lossText(r.droppedSamples, r.gaps, r.samples)}` : ', nothing lost'})`, r.path)),
      );
      if (recs.some((r) => r.path === keep)) sel.value = keep;
    });
  $('rec-name').addEventListener('input', () => {
    message('rec-status', '');
    $('rec-name').dataset['auto'] = 'false';
  });
  $('rec-start').addEventListener('click', () => {
    message('rec-status', '');
    api.startRecording({ name: $<HTMLInputElement>('rec-name').value }).catch((e) => message('rec-status', plainApiError(errorText(e), { 'startRecording.name': { key: 'name', label: 'Recording name' } }).message));
  });
  $('rec-stop').addEventListener('click', () => {
    api.stopRecording().catch((e) => message('rec-status', errorText(e)));
  });
  $('replay').addEventListener('click', () => {
    const path = $<HTMLSelectElement>('rec-list').value;
    if (!path) {
      message('rec-status', 'Recording: pick one from the list (record one first)');
      return;
    }
    api.replayRecording({ path }).then(({ sessionId }) => log(`replaying ${path} (${sessionId})`), (e) => message('rec-status', errorText(e)));
  });
  let recTimer = 0;
  let recPath: string | undefined;
  /** Samples recorded so far (the engine reports them once a second); cf32: 8 bytes each on disk. */
  let recSamples = 0;
  let recLoss = { droppedSamples: 0, gaps: 0 };
  const showRecording = (r: EngineState['recording']): void => {
    clearInterval(recTimer);
    const el = $('rec-badge');
    el.hidden = !r;
    if (r && recPath !== r.path) {
      message('rec-status', `recording to ${r.path}`, 'ok');
      recSamples = r.samples;
      recPath = r.path;
      offerRecordingName(); // the next recording gets another name
    }
    if (!r) {
      recPath = undefined;
      recLoss = { droppedSamples: 0, gaps: 0 };
      return;
    }
    recSamples = Math.max(recSamples, r.samples);
    if (r.gaps > recLoss.gaps || r.droppedSamples > recLoss.droppedSamples) recLoss = { droppedSamples: r.droppedSamples, gaps: r.gaps };
    const tick = (): void => {
      const secs = Math.max(0, Math.floor((Date.now() - r.startedAtMs) / 1000));
      const lost = recLoss.gaps > 0 ? ` · ${lossText(recLoss.droppedSamples, recLoss.gaps, recSamples)}` : '';
      el.textContent = `● REC ${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, '0')} · ${formatBytes(recSamples * 8)}${lost}`;
      el.title = `recording the received stream to ${r.path}.sigmf-data: ${recSamples} samples, ${recLoss.droppedSamples} lost in ${recLoss.gaps} gaps`;
      el.dataset['lost'] = String(recLoss.droppedSamples);
      $('rec-loss').textContent = recLoss.gaps > 0 ? `Lost while recording: ${lossText(recLoss.droppedSamples, recLoss.gaps, recSamples)} (marked as discontinuities in the file)` : 'Nothing lost so far';
    };
    tick();
    recTimer = window.setInterval(tick, 1000);
  };
  const recordingProgress = (samples: number, droppedSamples: number, gaps: number): void => {
    recSamples = samples;
    recLoss = { droppedSamples, gaps };
    if (state?.recording) showRecording(state.recording);
  };

  // ---------------------------------------------------------------------------------------------
  // session history: every image of a kept session (read back from its session.jsonl), and its export

  /** The session the history table shows, and whether it is the one running now (rows come from events). */
  let historyId: string | undefined;
  let historyLive = false;
  /** Sequences in the table, so rows read from disk and rows from events are not shown twice. */
  const historySeq = new Set<number>();
  const addHistoryRow = (r: SessionHistoryRow): void => {
    if (historySeq.has(r.sequence)) return;
    historySeq.add(r.sequence);
    const body = historyBody();
    const after = [...body.rows].find((tr) => Number(tr.dataset['seq']) > r.sequence);
    const tr = historyTr(r);
    tr.dataset['seq'] = String(r.sequence);
    body.insertBefore(tr, after ?? null);
  };
  const historyBody = (): HTMLTableSectionElement => $('history-table').querySelector('tbody')!;
  const historyCell = (text: string, cls = ''): HTMLTableCellElement => {
    const td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  };
  const f1 = (v: number | null, d = 1): string => (v === null ? '–' : v.toFixed(d));
  const historyTr = (r: SessionHistoryRow): HTMLTableRowElement => {
    const tr = document.createElement('tr');
    tr.className = `status-${r.status}`;
    const thumb = document.createElement('td');
    if (r.received) {
      const img = document.createElement('img');
      img.src = r.received;
      img.alt = `received image ${r.sequence}`;
      img.className = 'thumb';
      thumb.append(img);
    } else thumb.textContent = '–';
    tr.append(
      historyCell(String(r.sequence)),
      thumb,
      historyCell(r.prompt),
      historyCell(r.adapter ?? 'none (base model)'),
      historyCell(`${f1(r.configuredSnrDb)} / ${f1(r.measuredSnrDb)}`),
      historyCell(f1(r.psnrDb)),
      historyCell(f1(r.consistency, 2)),
      historyCell(r.rate === null ? '–' : String(r.rate)),
      historyCell(r.bytesOverAir === null ? '–' : `${r.bytesOverAir} / ${r.pngBytes ?? '–'} B`),
      historyCell(r.reason ? `${r.status}: ${r.reason}` : r.status, `badge-cell ${r.status}`),
    );
    return tr;
  };
  const rowFromRecord = (r: ImageRecordView): SessionHistoryRow => ({
    sequence: r.index,
    prompt: r.prompt,
    status: r.images.received ? 'received' : 'lost',
    adapter: r.adapter,
    configuredSnrDb: r.configuredSnrDb,
    measuredSnrDb: r.measuredSnrDb,
    psnrDb: r.psnrDb,
    consistency: r.consistency.received,
    rate: r.rate,
    bytesOverAir: r.bytesOverAir,
    pngBytes: r.pngBytes,
    received: r.images.received,
  });
  const setExportButtons = (): void => {
    const online = link.state === 'open' || window.dekag !== undefined;
    const running = state?.session?.sessionId === historyId;
    $<HTMLButtonElement>('export-json').disabled = !online || !historyId;
    $<HTMLButtonElement>('export-csv').disabled = !online || !historyId;
    $<HTMLButtonElement>('export-html').disabled = !online || !historyId || running;
    $('export-html').title = running ? 'report.html is written when the session ends' : "the session's report.html";
  };
  const refreshSessions = (select?: string): Promise<void> =>
    api.listSessions().then((list) => {
      const sel = $<HTMLSelectElement>('history-session');
      const keep = select ?? sel.value;
      sel.replaceChildren(...list.map((e) => new Option(`${e.sessionId} (${e.images} image${e.images === 1 ? '' : 's'}${e.done ? '' : ', running or cut short'})`, e.sessionId)));
      if (keep && !list.some((e) => e.sessionId === keep)) sel.prepend(new Option(`${keep} (starting)`, keep));
      if (keep) sel.value = keep;
    }, (e) => {
      if (link.state === 'open' || window.dekag) message('history-msg', errorText(e)); // offline: the banner says it
    });
  /** Shows a kept session's every image, read from its record on disk. */
  const loadHistory = async (id: string | undefined): Promise<void> => {
    historyId = id;
    historyLive = false;
    historyBody().replaceChildren();
    historySeq.clear();
    $('history-folder').textContent = '';
    setExportButtons();
    if (!id) return;
    try {
      const h = await api.sessionHistory({ sessionId: id });
      if (historyId !== id) return;
      for (const r of h.rows) addHistoryRow(r);
      $('history-folder').textContent = `Folder: ${h.folder} (session.jsonl, summary.json, report.html, images/)`;
      message('history-msg', '');
    } catch (e) {
      if (historyId === id && !historyLive) message('history-msg', errorText(e));
    }
  };
  /** A session started (here or in another tab): its rows arrive with its image events. */
  const followHistory = (id: string, folder: string | null, imagesDone: number): void => {
    if (historyId === id && historyLive) return;
    historyId = id;
    historyLive = true;
    historyBody().replaceChildren();
    historySeq.clear();
    $('history-folder').textContent = folder ? `Folder: ${folder} (session.jsonl, images/; summary.json and report.html when it ends)` : '';
    message('history-msg', '');
    void refreshSessions(id);
    setExportButtons();
    // A page opened mid-session: the images before the engine's recent ones come from the record on disk.
    if (imagesDone > 0) {
      api.sessionHistory({ sessionId: id }).then(
        (h) => {
          if (historyId === id) for (const r of h.rows) addHistoryRow(r);
        },
        () => undefined, // nothing on disk yet: the events bring the rows
      );
    }
  };
  const saveFile = (f: ExportedFile): void => {
    const url = URL.createObjectURL(new Blob([f.text], { type: f.mimeType }));
    const a = document.createElement('a');
    a.href = url;
    a.download = f.fileName;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 30_000);
  };
  const exportAs = (format: ExportFormat): void => {
    if (!historyId) return;
    message('history-msg', '');
    api.exportSession({ sessionId: historyId, format }).then(
      (f) => {
        saveFile(f);
        message('history-msg', `Saved ${f.fileName} (${f.text.length} characters) to your downloads`, 'ok');
      },
      (e) => message('history-msg', errorText(e)),
    );
  };
  $('export-json').addEventListener('click', () => exportAs('json'));
  $('export-csv').addEventListener('click', () => exportAs('csv'));
  $('export-html').addEventListener('click', () => exportAs('html'));
  $('history-session').addEventListener('change', () => void loadHistory($<HTMLSelectElement>('history-session').value || undefined));

  // ---------------------------------------------------------------------------------------------
  // the engine's state, applied to the page

  const showImage = (r: ImageRecordView): void => {
    for (const key of ['cloud', 'edge', 'edgeAdapted', 'received'] as const) {
      const img = $<HTMLImageElement>(`img-${key}`);
      const src = r.images[key];
      img.src = src ?? BLANK;
      img.title = src ? '' : 'not produced for this image';
    }
    const s = charts.savings();
    const f = (v: number | null, d = 2): string => (v === null ? '–' : v.toFixed(d));
    $('image-facts').textContent = [
      `image ${r.index}: ${r.prompt}`,
      `SNR configured ${r.configuredSnrDb === null ? '– (not set by the testbed)' : `${f(r.configuredSnrDb, 1)} dB`}, measured ${f(r.measuredSnrDb, 1)} dB`,
      `PSNR ${f(r.psnrDb, 1)} dB (received vs the sent image)   rate ${r.rate}  (${r.symbols} symbols)`,
      `adapter used: ${r.adapter ?? 'none (base model)'}`,
      `consistency: received ${f(r.consistency.received)}, MAKD ${f(r.consistency.edgeAdapted)}, no alignment ${f(r.consistency.edge)}`,
      `over the air ${r.bytesOverAir} B vs PNG ${r.pngBytes} B`,
      `saved so far ${s.savedBytes} B (${s.savedPercent.toFixed(0)} %)`,
      Object.keys(r.latencyMs).length ? `latency (ms): ${Object.entries(r.latencyMs).map(([k, v]) => `${k.replace(/_/g, ' ')} ${v.toFixed(0)}`).join(', ')}` : '',
    ].filter((l) => l !== '').join('\n');
  };

  const addImage = (r: ImageRecordView): void => {
    const key = `${r.sessionId}:${r.index}`;
    if (shownImages.has(key)) return; // already shown (state() and the event overlap after a reconnect)
    shownImages.add(key);
    ui.images++;
    ui.lastRecord = r;
    if (historyLive && historyId === r.sessionId) addHistoryRow(rowFromRecord(r));
    badge('provider', `provider: ${r.provider}`, 'on');
    charts.addImage(r);
    showImage(r);
  };
  /** A new session clears the live view, in every tab. */
  const followSession = (id: string | undefined): void => {
    if (id === undefined || id === shownSession) return;
    shownSession = id;
    shownImages.clear();
    charts.clear();
    charts.setSessionStart(state?.session?.sessionId === id ? state.session.startedAtMs : undefined);
    for (const key of ['cloud', 'edge', 'edgeAdapted', 'received'] as const) $<HTMLImageElement>(`img-${key}`).src = BLANK;
    $('image-facts').textContent = '';
  };
  let deviceKey: string | undefined;
  const applyState = (s: EngineState): void => {
    state = s;
    ui.state = s;
    // the radio: re-render its settings only when they changed (not on every image)
    const key = JSON.stringify([s.device, s.txDevice, s.radios]);
    if (key !== deviceKey) {
      deviceKey = key;
      renderConnected(s.device, s.txDevice, s.radios);
    }
    $('device-problems').textContent = s.deviceProblems.length ? `Not searched: ${s.deviceProblems.join('; ')}` : '';
    // the session
    followSession(s.session?.sessionId);
    if (s.session && s.session.sessionId === shownSession) charts.setSessionStart(s.session.startedAtMs);
    if (s.session?.kind === 'session') followHistory(s.session.sessionId, s.session.folder, s.session.imagesDone);
    if (s.session) badge('session-status', sessionText(s.session), 'on');
    else if (s.lastSession) badge('session-status', s.lastSession.state, s.lastSession.state === 'failed' ? 'bad' : '');
    else badge('session-status', 'idle');
    const folder = s.session?.folder ?? s.lastSession?.folder ?? null;
    $('session-folder').textContent = folder ? `Session record (session.jsonl, images): ${folder}` : '';
    showRecording(s.recording);
    sessionProgress(s.session);
    showAttenuator(s);
    // distillation
    const d = s.distill;
    const bar = $<HTMLProgressElement>('distill-progress');
    bar.hidden = d?.state !== 'running';
    if (d) {
      // total 0: the trainer has not said its total yet (an indeterminate bar, no 'of N' that would change)
      if (d.total > 0) {
        bar.max = d.total;
        bar.value = d.step;
      } else bar.removeAttribute('value');
      const text =
        d.state === 'running' ? (d.total > 0 ? `distilling ${d.subject}: step ${d.step} of ${d.total}` : `distilling ${d.subject}: ${d.message ?? 'starting'}…`) : d.state === 'done' ? `adapter ${d.adapter} ready (${d.message ?? ''})` : `distillation failed: ${d.message ?? ''}`;
      message('distill-status', text, d.state === 'failed' ? 'error' : 'ok');
    }
    setControls(s);
    setExportButtons();
  };
  /** Loads everything from the engine: on start and after every reconnect. */
  const loadSnapshot = (snap: EngineSnapshot): void => {
    followSession(snap.session?.sessionId ?? snap.lastSession?.sessionId);
    applyState(snap);
    for (const r of snap.images) addImage(r);
  };

  api.onEvent((e: EngineEvent) => {
    switch (e.type) {
      case 'state':
        applyState(e.state);
        break;
      case 'devices':
        renderDevices(e.devices);
        break;
      case 'device':
        if (!e.device && e.reason && e.reason !== 'disconnected') message('device-error', `radio gone: ${e.reason}`);
        break;
      case 'session':
        if (e.state !== 'running') {
          if (e.message) message('session-error', e.message);
          // the record is complete now (summary.json, report.html): show it as the disk has it
          if (e.sessionId === historyId) void refreshSessions(e.sessionId).then(() => loadHistory(e.sessionId));
          log(`session ${e.sessionId} ${e.state}${e.message ? `: ${e.message}` : ''}`);
        }
        break;
      case 'image':
        followSession(e.record.sessionId);
        addImage(e.record);
        break;
      case 'spectrum':
        charts.addSpectrum(e.row);
        break;
      case 'distill':
        if (e.state === 'done') void refreshAdapters(e.adapter);
        break;
      case 'recording':
        if (e.state === 'recording') recordingProgress(e.samples, e.droppedSamples, e.gaps);
        if (e.state === 'stopped') {
          message('rec-status', `saved ${e.samples} samples to ${e.path}; ${e.gaps > 0 ? lossText(e.droppedSamples, e.gaps, e.samples) : 'nothing lost'}`, e.gaps > 0 ? 'error' : 'ok');
          $('rec-loss').textContent = '';
          void refreshRecordings();
        }
        break;
      case 'log':
        log(`${e.level}: ${e.message}`);
        break;
    }
  });

  // ---------------------------------------------------------------------------------------------
  // initial state, and again after each reconnect

  resync = async (): Promise<void> => {
    try {
      const [snap] = await Promise.all([api.state(), refreshDevices(), refreshAdapters(), refreshRecordings(), refreshSessions()]);
      loadSnapshot(snap);
      log('reconnected to the engine');
    } catch (e) {
      log(`error: reloading the engine's state: ${errorText(e)}`);
    }
  };
  const [i, v, snap] = await Promise.all([api.info(), api.vocabulary(), api.state()]);
  info = i;
  vocab = v;
  maxPromptChars = i.limits.maxPromptChars;
  if (i.provider) badge('provider', `provider: ${i.provider}`, 'on');
  $<HTMLSelectElement>('subject').replaceChildren(...v.misalignedSubjects.map((s) => new Option(s, s)));
  prompt.placeholder = `${v.examples[0]}  (one prompt per line; ${v.maxWords} words at most)`;
  if (!i.features.sessions) message('session-error', 'sessions are not available in this build');
  await Promise.all([refreshDevices(), refreshAdapters(), refreshRecordings(), refreshSessions()]);
  loadSnapshot(snap);
  if (!snap.session || snap.session.kind !== 'session') {
    const last = snap.lastSession?.folder ? snap.lastSession.sessionId : $<HTMLSelectElement>('history-session').value || undefined;
    if (last) $<HTMLSelectElement>('history-session').value = last;
    await loadHistory(last);
  }
  if (snap.session) showScreen('live');
  document.body.dataset['ready'] = 'true';
}

main().catch((e) => {
  document.body.dataset['ready'] = 'error';
  const p = document.createElement('p');
  p.className = 'error';
  p.textContent = `The app could not start: ${errorText(e)}`;
  document.querySelector('main')?.prepend(p);
});
