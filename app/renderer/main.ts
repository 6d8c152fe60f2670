/**
 * The UI. It talks to the engine only through a DekagBridge: `window.dekag` from Electron's preload, or
 * the WebSocket client in browser mode. No Node, no Electron, no engine code here (types only).
 */
import type { ConnectedDevice, DekagBridge, DeviceSummary, EngineEvent, ImageRecordView, LoopbackChannelSettings, SessionRequest, SnrPlan, VocabularyInfo } from '../../src/server/api.js';
import { LiveCharts } from './charts.js';
import { completions, currentWord, replaceCurrentWord } from './autocomplete.js';
import { connectWebSocket } from './ws-client.js';

declare global {
  interface Window {
    dekag?: DekagBridge;
    /** For the end-to-end tests: what the live view holds. */
    dekagUi?: { charts: LiveCharts; images: number; lastRecord: ImageRecordView | undefined };
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

async function main(): Promise<void> {
  for (const b of document.querySelectorAll<HTMLElement>('nav button')) b.addEventListener('click', () => showScreen(b.dataset['screen']!));
  showScreen('devices');
  const api: DekagBridge = window.dekag ?? (await connectWebSocket(location.href, (s) => badge('link-status', s === 'open' ? 'engine connected' : 'engine disconnected', s === 'open' ? 'on' : 'bad')));
  if (window.dekag) badge('link-status', 'engine connected', 'on');

  const charts = new LiveCharts(document);
  const ui = { charts, images: 0, lastRecord: undefined as ImageRecordView | undefined };
  window.dekagUi = ui;
  let vocab: VocabularyInfo | undefined;
  let connected: ConnectedDevice | null = null;
  let sessionRunning = false;

  const log = (line: string): void => {
    const el = $('log');
    el.textContent = `${new Date().toLocaleTimeString()} ${line}\n${el.textContent ?? ''}`.slice(0, 8000);
  };

  // ---------------------------------------------------------------------------------------------
  // devices

  const renderDevices = (devices: DeviceSummary[]): void => {
    const body = $('device-table').querySelector('tbody')!;
    body.replaceChildren(
      ...devices.map((d) => {
        const tr = document.createElement('tr');
        tr.className = d.connected ? 'connected' : '';
        const name = document.createElement('td');
        name.textContent = d.label;
        name.title = d.id;
        const driver = document.createElement('td');
        driver.textContent = d.driver;
        const act = document.createElement('td');
        const b = document.createElement('button');
        b.textContent = d.connected ? 'connected' : 'connect';
        b.disabled = d.connected;
        b.dataset['device'] = d.id;
        b.addEventListener('click', () => {
          $('device-error').textContent = '';
          api.connectDevice({ id: d.id }).then(renderConnected, (e) => ($('device-error').textContent = errorText(e)));
        });
        act.append(b);
        tr.append(name, driver, act);
        return tr;
      }),
    );
  };
  const refreshDevices = (): Promise<void> =>
    api.listDevices().then(renderDevices, (e) => {
      $('device-error').textContent = errorText(e);
    });

  const renderConnected = (d: ConnectedDevice | null): void => {
    connected = d;
    $('device-settings').hidden = !d;
    $('channel-settings').hidden = !d?.channel;
    badge('radio-status', d ? d.label.split(' (')[0]! : 'no radio', d ? 'on' : '');
    void refreshDevices();
    if (!d) return;
    $('device-label').textContent = d.label;
    $<HTMLInputElement>('freq').value = String(d.settings.freqHz / 1e6);
    $<HTMLInputElement>('rate-sps').value = String(d.settings.sampleRateHz / 1e6);
    const gains = $('gains');
    gains.replaceChildren(
      ...d.gains
        .filter((g) => g.direction === 'rx' || d.tx)
        .map((g) => {
          const l = document.createElement('label');
          const input = document.createElement('input');
          Object.assign(input, { type: 'number', min: String(g.minDb), max: String(g.maxDb), step: String(g.stepDb), value: String(d.settings.gainsDb[g.name] ?? g.minDb) });
          input.dataset['gain'] = g.name;
          l.append(`${g.name} gain (dB) `, input);
          return l;
        }),
    );
    if (d.channel) fillChannel(d.channel);
  };
  const fillChannel = (c: LoopbackChannelSettings): void => {
    $<HTMLInputElement>('ch-snr').value = String(c.snrDb);
    $<HTMLInputElement>('ch-fading').checked = c.fading;
    $<HTMLInputElement>('ch-doppler').value = String(c.dopplerHz);
    $<HTMLInputElement>('ch-cfo').value = String(c.cfoHz);
    $<HTMLInputElement>('ch-sro').value = String(c.sroPpm);
    $<HTMLInputElement>('ch-pn').value = String(c.phaseNoiseLinewidthHz);
    $<HTMLSelectElement>('ch-quant').value = c.quantization;
  };
  $('refresh-devices').addEventListener('click', () => void refreshDevices());
  $('disconnect').addEventListener('click', () => {
    api.disconnectDevice().then(() => renderConnected(null), (e) => ($('device-error').textContent = errorText(e)));
  });
  $('device-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const gainsDb: Record<string, number> = {};
    for (const input of $('gains').querySelectorAll<HTMLInputElement>('input')) gainsDb[input.dataset['gain']!] = Number(input.value);
    api
      .configureDevice({ freqHz: Number($<HTMLInputElement>('freq').value) * 1e6, sampleRateHz: Number($<HTMLInputElement>('rate-sps').value) * 1e6, gainsDb })
      .then(() => ($('device-error').textContent = ''), (e) => ($('device-error').textContent = errorText(e)));
  });
  $('channel-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    api
      .setLoopbackChannel({
        snrDb: Number($<HTMLInputElement>('ch-snr').value),
        fading: $<HTMLInputElement>('ch-fading').checked,
        dopplerHz: Number($<HTMLInputElement>('ch-doppler').value),
        cfoHz: Number($<HTMLInputElement>('ch-cfo').value),
        sroPpm: Number($<HTMLInputElement>('ch-sro').value),
        phaseNoiseLinewidthHz: Number($<HTMLInputElement>('ch-pn').value),
        quantization: $<HTMLSelectElement>('ch-quant').value as LoopbackChannelSettings['quantization'],
      })
      .then((c) => {
        fillChannel(c);
        $('device-error').textContent = '';
      }, (e) => ($('device-error').textContent = errorText(e)));
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
      if (prompt.value.trim() === '') {
        $('prompt-error').textContent = '';
        $('prompt-ok').textContent = '';
        prompt.classList.remove('invalid');
        return;
      }
      api.checkPrompt({ prompt: prompt.value }).then((r) => {
        if (seq !== checkSeq) return; // an older answer arriving late
        prompt.classList.toggle('invalid', !r.ok);
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
  $('distill').addEventListener('click', () => {
    $('distill-status').textContent = '';
    api
      .distill({ subject: $<HTMLSelectElement>('subject').value, steps: Number($<HTMLInputElement>('distill-steps').value), quick: $<HTMLInputElement>('distill-quick').checked })
      .catch((e) => ($('distill-status').textContent = errorText(e)));
  });

  // ---------------------------------------------------------------------------------------------
  // session

  const sessionRequest = (): SessionRequest => {
    const mode = document.querySelector<HTMLInputElement>('input[name="snr-mode"]:checked')!.value;
    const snr: SnrPlan =
      mode === 'sweep'
        ? { kind: 'sweep', fromDb: Number($<HTMLInputElement>('sweep-from').value), toDb: Number($<HTMLInputElement>('sweep-to').value), stepDb: Number($<HTMLInputElement>('sweep-step').value), imagesPerStep: Number($<HTMLInputElement>('sweep-per').value) }
        : { kind: 'target', snrDb: Number($<HTMLInputElement>('snr-target').value) };
    const rate = $<HTMLSelectElement>('rate').value;
    return {
      prompt: prompt.value,
      adapter: $<HTMLSelectElement>('adapter').value === 'none' ? null : $<HTMLSelectElement>('adapter').value,
      snr,
      rate: rate === 'auto' ? 'auto' : Number(rate),
      images: Number($<HTMLInputElement>('images').value),
      seed: Number($<HTMLInputElement>('seed').value),
    };
  };
  const setRunning = (running: boolean, label: string, state: 'on' | 'bad' | '' = ''): void => {
    sessionRunning = running;
    $<HTMLButtonElement>('start').disabled = running;
    $<HTMLButtonElement>('replay').disabled = running;
    $<HTMLButtonElement>('stop').disabled = !running;
    badge('session-status', label, state);
  };
  setRunning(false, 'idle');
  $('start').addEventListener('click', () => {
    $('session-error').textContent = '';
    if (!connected) {
      $('session-error').textContent = 'connect a radio first (Devices screen; the loopback radio is always there)';
      return;
    }
    charts.clear();
    api.startSession(sessionRequest()).then(
      ({ sessionId }) => {
        setRunning(true, 'running', 'on');
        log(`session ${sessionId} started`);
        showScreen('live');
      },
      (e) => ($('session-error').textContent = errorText(e)),
    );
  });
  $('stop').addEventListener('click', () => void api.stopSession());

  // ---------------------------------------------------------------------------------------------
  // recording and replay

  const refreshRecordings = (): Promise<void> =>
    api.listRecordings().then((recs) => {
      $<HTMLSelectElement>('rec-list').replaceChildren(...recs.map((r) => new Option(`${r.name} (${(r.samples / r.sampleRateHz).toFixed(1)} s, ${r.datatype})`, r.path)));
    });
  $('rec-start').addEventListener('click', () => {
    api.startRecording({ name: $<HTMLInputElement>('rec-name').value }).then((r) => ($('rec-status').textContent = `recording to ${r.path}`), (e) => ($('rec-status').textContent = errorText(e)));
  });
  $('rec-stop').addEventListener('click', () => {
    api.stopRecording().then((r) => {
      $('rec-status').textContent = r ? `saved ${r.samples} samples to ${r.path}` : 'not recording';
      void refreshRecordings();
    }, (e) => ($('rec-status').textContent = errorText(e)));
  });
  $('replay').addEventListener('click', () => {
    const path = $<HTMLSelectElement>('rec-list').value;
    if (!path) return;
    charts.clear();
    api.replayRecording({ path }).then(({ sessionId }) => {
      setRunning(true, 'replaying', 'on');
      log(`replaying ${path} (${sessionId})`);
    }, (e) => ($('rec-status').textContent = errorText(e)));
  });

  // ---------------------------------------------------------------------------------------------
  // events

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
      `PSNR ${f(r.psnrDb, 1)} dB   rate ${r.rate}  (${r.symbols} symbols)`,
      `consistency: received ${f(r.consistency.received)}, MAKD ${f(r.consistency.edgeAdapted)}, no alignment ${f(r.consistency.edge)}`,
      `over the air ${r.bytesOverAir} B vs PNG ${r.pngBytes} B`,
      `saved so far ${s.savedBytes} B (${s.savedPercent.toFixed(0)} %)`,
      Object.keys(r.latencyMs).length ? `latency (ms): ${Object.entries(r.latencyMs).map(([k, v]) => `${k.replace(/_/g, ' ')} ${v.toFixed(0)}`).join(', ')}` : '',
    ].filter((l) => l !== '').join('\n');
  };

  api.onEvent((e: EngineEvent) => {
    switch (e.type) {
      case 'devices':
        renderDevices(e.devices);
        break;
      case 'device':
        if ((e.device?.id ?? null) !== (connected?.id ?? null) || e.device) renderConnected(e.device);
        if (!e.device && e.reason) $('device-error').textContent = e.reason;
        break;
      case 'session':
        if (e.state === 'running') {
          setRunning(true, e.configuredSnrDb !== undefined ? `running at ${e.configuredSnrDb} dB` : 'running', 'on');
        } else {
          setRunning(false, e.state, e.state === 'failed' ? 'bad' : '');
          if (e.message) $('session-error').textContent = e.message;
          log(`session ${e.sessionId} ${e.state}${e.message ? `: ${e.message}` : ''}`);
        }
        break;
      case 'image':
        ui.images++;
        ui.lastRecord = e.record;
        badge('provider', `provider: ${e.record.provider}`, 'on');
        charts.addImage(e.record);
        showImage(e.record);
        break;
      case 'spectrum':
        charts.addSpectrum(e.row);
        break;
      case 'distill': {
        const bar = $<HTMLProgressElement>('distill-progress');
        bar.hidden = e.state !== 'running';
        bar.max = Math.max(1, e.total);
        bar.value = e.step;
        $('distill-status').textContent =
          e.state === 'running' ? `distilling ${e.subject}: step ${e.step} of ${e.total}` : e.state === 'done' ? `adapter ${e.adapter} ready (${e.message ?? ''})` : `distillation failed: ${e.message ?? ''}`;
        if (e.state === 'done') void refreshAdapters(e.adapter);
        break;
      }
      case 'recording':
        $('rec-status').textContent = e.state === 'recording' ? `recording to ${e.path}` : `saved ${e.samples} samples to ${e.path}`;
        if (e.state === 'stopped') void refreshRecordings();
        break;
      case 'log':
        log(`${e.level}: ${e.message}`);
        break;
    }
  });

  // ---------------------------------------------------------------------------------------------
  // initial state

  const [info, v] = await Promise.all([api.info(), api.vocabulary()]);
  vocab = v;
  if (info.provider) badge('provider', `provider: ${info.provider}`, 'on');
  $<HTMLSelectElement>('subject').replaceChildren(...v.misalignedSubjects.map((s) => new Option(s, s)));
  $<HTMLButtonElement>('distill').disabled = !info.features.distill;
  prompt.placeholder = `${v.examples[0]}  (one prompt per line; ${v.maxWords} words at most)`;
  if (!info.features.sessions) $('session-error').textContent = 'sessions are not available in this build';
  await Promise.all([refreshDevices(), refreshAdapters(), refreshRecordings()]);
  void sessionRunning;
  document.body.dataset['ready'] = 'true';
}

main().catch((e) => {
  document.body.dataset['ready'] = 'error';
  const p = document.createElement('p');
  p.className = 'error';
  p.textContent = `The app could not start: ${errorText(e)}`;
  document.querySelector('main')?.prepend(p);
});
