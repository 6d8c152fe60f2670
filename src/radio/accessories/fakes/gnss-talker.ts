/**
 * FAKE GNSS receiver: writes NMEA text to a serial port the way a receiver does, in arbitrary chunks (so
 * sentences arrive split across reads), including whatever garbage a test wants to inject.
 */
import { SerialLinePort } from '../serial-line.js';

export class FakeGnssTalker {
  private constructor(private readonly port: SerialLinePort) {}

  static async open(path: string, baudRate = 9600): Promise<FakeGnssTalker> {
    return new FakeGnssTalker(await SerialLinePort.open(path, { baudRate }));
  }

  /** Writes `text` in pieces of `chunkBytes`, with a short pause between pieces. */
  async talk(text: string, chunkBytes = 17, pauseMs = 1): Promise<void> {
    for (let i = 0; i < text.length; i += chunkBytes) {
      await this.port.write(text.slice(i, i + chunkBytes));
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
    }
  }

  async close(): Promise<void> {
    await this.port.close();
  }
}
