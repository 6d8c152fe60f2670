/**
 * `dekag devices`: the radios this machine can use: the loopback, USB radios found by vendor/product id,
 * and network radios named on the command line or in a JSON config file.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from '../util/errors.js';
import { parse } from './options.js';
import { discoverDevices, type DiscoveryConfig, type NetworkRadioConfig, type UsbLike } from '../radio/devices/discovery.js';
import { loadDriverModules, registeredDrivers } from '../radio/devices/registry.js';
import { parseHostPort } from '../radio/devices/rtl-tcp-client.js';

export { DEVICES_HELP } from './help.js';

type Out = { stdout: (s: string) => void; stderr: (s: string) => void };
const defaultOut: Out = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) };

export async function runDevicesCli(argv: string[], opts: { out?: Out; usb?: UsbLike } = {}): Promise<number> {
  const out = opts.out ?? defaultOut;
  const { values } = parse(argv, {
    json: { type: 'boolean' },
    'rtl-tcp': { type: 'string', multiple: true },
    pluto: { type: 'string', multiple: true },
    config: { type: 'string' },
  });
  const config: DiscoveryConfig = { network: [] };
  if (typeof values.config === 'string') config.network!.push(...readConfig(values.config));
  for (const a of (values['rtl-tcp'] as string[] | undefined) ?? []) {
    const { host, port } = parseHostPort(a);
    config.network!.push({ driver: 'rtl_tcp', host, port });
  }
  for (const h of (values.pluto as string[] | undefined) ?? []) config.network!.push({ driver: 'pluto', host: h });
  const loadProblems = await loadDriverModules();
  const found = await discoverDevices(config, opts.usb);
  const drivers = registeredDrivers();
  const problems = [...found.problems, ...loadProblems];
  if (values.json) {
    out.stdout(JSON.stringify({ devices: found.devices, problems, drivers }, null, 2) + '\n');
    return 0;
  }
  for (const d of found.devices) out.stdout(`${d.id.padEnd(28)} ${d.label}${drivers.includes(d.driver) ? '' : '  [driver not available in this build]'}\n`);
  for (const p of problems) out.stdout(`note: ${p}\n`);
  return 0;
}

function readConfig(path: string): NetworkRadioConfig[] {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`--config ${path}: ${(e as Error).message}`);
  }
  const list = (json as { network?: unknown }).network;
  if (!Array.isArray(list)) throw new UsageError(`--config ${path}: expected {"network": [{"driver": "rtl_tcp"|"pluto", "host": "...", "port": N}]}`);
  return list.map((n: unknown, i: number) => {
    const r = n as Partial<NetworkRadioConfig>;
    if ((r.driver !== 'rtl_tcp' && r.driver !== 'pluto') || typeof r.host !== 'string' || (r.port !== undefined && !Number.isInteger(r.port))) {
      throw new UsageError(`--config ${path}: network[${i}] needs driver "rtl_tcp" or "pluto", a host string and an optional integer port`);
    }
    return r as NetworkRadioConfig;
  });
}
