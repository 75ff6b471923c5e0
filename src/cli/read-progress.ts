/**
 * A progress line on stderr for long reads of the log (`cairn log`, `cairn history` on a big log):
 * only when stderr is a terminal, only once a read has taken half a second, redrawn at most five
 * times a second, and erased at the end so what stays on the screen is the answer.
 */
export class ReadProgress {
  private readonly began = Date.now();
  private drawn = 0;
  private shown = false;

  private constructor(private readonly out: NodeJS.WriteStream) {}

  /** A progress line, or null when stderr is not a terminal (pipes, tests, --json captured by a program). */
  static start(): ReadProgress | null {
    return process.stderr.isTTY ? new ReadProgress(process.stderr) : null;
  }

  update(label: string, done: number, total: number): void {
    const now = Date.now();
    if (now - this.began < 500 || now - this.drawn < 200) return;
    this.drawn = now;
    this.shown = true;
    const pct = total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : 100;
    this.out.write(`\r\x1b[K${label}: ${pct}% of ${mib(total)}`);
  }

  end(): void {
    if (this.shown) this.out.write('\r\x1b[K');
  }
}

function mib(n: number): string {
  return `${(n / 1048576).toFixed(n < 10 * 1048576 ? 1 : 0)} MiB`;
}
