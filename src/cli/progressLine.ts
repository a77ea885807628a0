/**
 * One line of live progress on standard error: redrawn in place on a terminal, printed at most
 * once every few seconds otherwise (CI logs, pipes), so that a log is readable either way.
 */
export class ProgressLine {
  readonly #tty = Boolean(process.stderr.isTTY);
  #lastPrinted = 0;
  #last = '';

  update(text: string): void {
    this.#last = text;
    if (this.#tty) {
      process.stderr.write(`\r\x1b[2K${text}`);
      return;
    }
    const now = Date.now();
    if (now - this.#lastPrinted < 2000) return;
    this.#lastPrinted = now;
    process.stderr.write(`${text}\n`);
  }

  /** Leaves the last state on its own line. */
  done(text = this.#last): void {
    process.stderr.write(this.#tty ? `\r\x1b[2K${text}\n` : `${text}\n`);
  }
}

/** `[#####-----]  50%`. */
export const bar = (done: number, total: number, width = 30): string => {
  const share = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(share * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor(share * 100)).padStart(3)}%`;
};
