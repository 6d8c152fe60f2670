/**
 * Electron's main process: the window, the menu, the app:// protocol that serves the renderer, and the
 * IPC bridge to the engine's utility process. Thin on purpose: everything the app does is in src/ and
 * works without Electron (browser mode, CLI). Every item of Electron's security checklist that applies is
 * addressed here or in the preload; docs/app.md lists them one by one.
 */
import { app, BrowserWindow, dialog, ipcMain, Menu, protocol, session, shell, utilityProcess, type UtilityProcess, type WebContents } from 'electron';
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isApiMethod, type EngineEvent, type ResponseMessage } from '../../src/server/api.js';
import { contentSecurityPolicy, MIME, rendererFiles } from '../../src/server/static.js';

const ORIGIN = 'app://dekag';
const here = fileURLToPath(new URL('.', import.meta.url));

// Checklist 1, 4, 12: our own privileged scheme instead of file:// (no access to the rest of the disk,
// a real origin for the CSP and for sender checks). Must happen before 'ready'.
protocol.registerSchemesAsPrivileged([{ scheme: 'app', privileges: { standard: true, secure: true } }]);
// Checklist 4: sandbox every renderer, whatever a window's options say.
app.enableSandbox();

let win: BrowserWindow | undefined;
let engine: UtilityProcess | undefined;
const pending = new Map<number, (res: ResponseMessage) => void>();
let nextId = 1;

function startEngine(): UtilityProcess {
  const env: Record<string, string> = { ...(process.env as Record<string, string>) };
  env['DEKAG_RECORDINGS_DIR'] ??= join(app.getPath('documents'), 'DeKA-g', 'recordings');
  // The user's own distillations: the packaged models folder is read-only.
  env['DEKAG_USER_ADAPTERS_DIR'] ??= join(app.getPath('userData'), 'adapters');
  // Packaged: the models travel as extra resources next to the asar archive (electron-builder.yml).
  if (app.isPackaged) env['DEKAG_MODELS_DIR'] ??= join(process.resourcesPath, 'models');
  const child = utilityProcess.fork(join(here, 'engine-host.js'), [], { serviceName: 'DeKA-g engine', env, stdio: 'inherit' });
  child.on('message', (msg: ResponseMessage | { event: EngineEvent }) => {
    if ('event' in msg) {
      win?.webContents.send('dekag:event', msg.event);
      return;
    }
    const done = pending.get(msg.id);
    pending.delete(msg.id);
    done?.(msg);
  });
  child.on('exit', (code) => {
    for (const done of pending.values()) done({ id: -1, error: { code: 'E_ENGINE_EXIT', message: `the engine stopped (exit code ${code}); restart the app` } });
    pending.clear();
    if (engine === child) engine = undefined;
  });
  return child;
}

/** Checklist 17: only our own page may call the engine. */
function trustedSender(frame: Electron.WebFrameMain | null): boolean {
  const main = win?.webContents.mainFrame;
  return !!frame && !!main && frame.url.startsWith(`${ORIGIN}/`) && frame.processId === main.processId && frame.routingId === main.routingId;
}

ipcMain.handle('dekag:call', async (event, method: unknown, params: unknown): Promise<ResponseMessage> => {
  if (!trustedSender(event.senderFrame)) return { id: -1, error: { code: 'E_FORBIDDEN', message: 'calls are accepted only from the app window' } };
  // The engine validates parameters itself; refusing unknown names here keeps junk off the process boundary.
  if (!isApiMethod(method)) return { id: -1, error: { code: 'E_API_UNKNOWN', message: `unknown call '${String(method).slice(0, 60)}'` } };
  engine ??= startEngine();
  const id = nextId++;
  const child = engine;
  return new Promise<ResponseMessage>((resolve) => {
    pending.set(id, resolve);
    child.postMessage({ id, method, params });
  });
});

async function serveRenderer(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const name = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname.slice(1));
  const file = url.host === 'dekag' ? rendererFiles().files.get(name) : undefined;
  const headers = { 'Content-Security-Policy': contentSecurityPolicy(), 'X-Content-Type-Options': 'nosniff' };
  if (!file) return new Response('not found', { status: 404, headers });
  try {
    return new Response(await readFile(file), { headers: { ...headers, 'Content-Type': MIME[extname(file)] ?? 'application/octet-stream' } });
  } catch {
    return new Response('not found', { status: 404, headers });
  }
}

function lockDown(contents: WebContents): void {
  // Checklist 13: no navigation away from the app; links to the web open in the user's browser.
  contents.on('will-navigate', (e, url) => {
    if (!url.startsWith(`${ORIGIN}/`)) e.preventDefault();
  });
  contents.on('will-redirect', (e, url) => {
    if (!url.startsWith(`${ORIGIN}/`)) e.preventDefault();
  });
  // Checklist 14, 15: no new windows, and nothing from the page is handed to shell.openExternal.
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  // Checklist 12: no <webview>.
  contents.on('will-attach-webview', (e) => e.preventDefault());
}

function createWindow(): void {
  win = new BrowserWindow({
    width: 1400,
    height: 950,
    title: 'DeKA-g Testbed',
    show: false,
    webPreferences: {
      preload: join(here, '..', 'preload', 'preload.cjs'),
      // Checklist 2, 3, 4, 5, 6, 9, 12: Electron's safe defaults, stated so that nobody flips them by accident.
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      contextIsolation: true,
      sandbox: true,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
    },
  });
  win.once('ready-to-show', () => win?.show());
  win.on('closed', () => (win = undefined));
  void win.loadURL(`${ORIGIN}/index.html`);
}

function buildMenu(): Menu {
  const recordings = (): string => process.env['DEKAG_RECORDINGS_DIR'] ?? join(app.getPath('documents'), 'DeKA-g', 'recordings');
  return Menu.buildFromTemplate([
    ...(process.platform === 'darwin' ? [{ role: 'appMenu' as const }] : []),
    {
      label: 'File',
      submenu: [{ label: 'Open recordings folder', click: () => void shell.openPath(recordings()) }, { type: 'separator' }, { role: 'quit' }],
    },
    { role: 'editMenu' },
    { label: 'View', submenu: [{ role: 'reload' }, { role: 'resetZoom' }, { role: 'zoomIn' }, { role: 'zoomOut' }, { type: 'separator' }, { role: 'togglefullscreen' }, ...(app.isPackaged ? [] : [{ role: 'toggleDevTools' as const }])] },
    {
      label: 'Help',
      submenu: [
        {
          label: 'About DeKA-g Testbed',
          click: () => void dialog.showMessageBox({ message: `DeKA-g Testbed ${app.getVersion()}`, detail: 'Generative semantic communication over real and loopback radios.' }),
        },
      ],
    },
  ]);
}

app.on('web-contents-created', (_e, contents) => lockDown(contents));

app.whenReady().then(() => {
  protocol.handle('app', serveRenderer);
  const ses = session.defaultSession;
  // Checklist 5: deny every permission request (camera, microphone, notifications, USB, serial, HID...).
  // The radios are opened by the engine process, never by the page.
  ses.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
  ses.setDevicePermissionHandler(() => false);
  // Checklist 1, 8: no remote content: any request that is not for our own scheme is cancelled.
  ses.webRequest.onBeforeRequest((details, callback) => {
    // blob:app://dekag/… are files the page made itself (the session exports it saves as downloads).
    const ok = details.url.startsWith(`${ORIGIN}/`) || details.url.startsWith(`blob:${ORIGIN}/`) || details.url.startsWith('devtools://') || details.url.startsWith('data:');
    callback({ cancel: !ok });
  });
  Menu.setApplicationMenu(buildMenu());
  engine = startEngine();
  createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

app.on('before-quit', () => {
  engine?.kill();
});
