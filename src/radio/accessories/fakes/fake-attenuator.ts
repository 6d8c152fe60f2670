/**
 * FAKE step attenuator on a serial port, speaking the generic protocol (`ATT 12.50` → `OK`, `ATT?` →
 * `ATT 12.50`, out of range → `ERR range`). `silent` makes it a device that never answers.
 */
import { SerialLinePort } from '../serial-line.js';

export interface FakeAttenuatorOptions {
  minDb?: number;
  maxDb?: number;
  stepDb?: number;
  /** Never answer (a device that is off, or on another baud rate). */
  silent?: boolean;
}

export class FakeAttenuator {
  /** Commands received, in order (without line endings). */
  readonly received: string[] = [];
  db = 0;

  private constructor(
    private readonly port: SerialLinePort,
    private readonly opts: FakeAttenuatorOptions,
  ) {
    port.on('line', (l: string) => void this.handle(l.trim()));
  }

  static async open(path: string, opts: FakeAttenuatorOptions = {}): Promise<FakeAttenuator> {
    return new FakeAttenuator(await SerialLinePort.open(path, { baudRate: 9600 }), opts);
  }

  private async handle(cmd: string): Promise<void> {
    if (cmd === '') return;
    this.received.push(cmd);
    if (this.opts.silent) return;
    let reply: string;
    const m = /^ATT\s+(-?\d+(?:\.\d+)?)$/.exec(cmd);
    if (cmd === 'ATT?') reply = `ATT ${this.db.toFixed(2)}`;
    else if (m) {
      const x = Number(m[1]);
      const step = this.opts.stepDb ?? 0.25;
      if (x < (this.opts.minDb ?? 0) || x > (this.opts.maxDb ?? 95.25)) reply = 'ERR range';
      else if (Math.abs(x / step - Math.round(x / step)) > 1e-6) reply = 'ERR step';
      else {
        this.db = x;
        reply = 'OK';
      }
    } else reply = 'ERR syntax';
    await this.port.write(`${reply}\r\n`).catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.port.close();
  }
}
