/** A progress bar on stderr for long work (only when stderr is a terminal; otherwise quiet). */
export class ProgressBar {
  private lastDraw = 0;
  constructor(private readonly label: string, private readonly stream: NodeJS.WriteStream = process.stderr) {}

  update(done: number, total: number, extra = ''): void {
    if (!this.stream.isTTY) return;
    const now = Date.now();
    if (done < total && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const width = 30;
    const filled = Math.round((width * done) / Math.max(total, 1));
    const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
    this.stream.write(`\r${this.label} [${bar}] ${done}/${total} ${extra}`.padEnd(80));
    if (done >= total) this.stream.write('\n');
  }
}
