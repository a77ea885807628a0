export type ShutdownStep = { name: string; run: () => Promise<void> };

/**
 * Closes what start-up opened, last opened first, once, on SIGINT or SIGTERM or when asked.
 * A step that fails is reported and the rest still run.
 */
export class Shutdown {
  readonly #steps: ShutdownStep[] = [];
  #running: Promise<void> | undefined;

  constructor(private readonly report: (step: string, error: unknown) => void) {}

  /** True once closing has begun: errors from connections being closed are expected then. */
  get started(): boolean {
    return this.#running !== undefined;
  }

  add(name: string, run: () => Promise<void>): void {
    this.#steps.push({ name, run });
  }

  run(): Promise<void> {
    this.#running ??= (async () => {
      for (const step of [...this.#steps].reverse()) {
        try {
          await step.run();
        } catch (error) {
          this.report(step.name, error);
        }
      }
    })();
    return this.#running;
  }

  /** Runs the steps on the first SIGINT/SIGTERM, then exits; resolves when they are done. */
  onSignals(exit: (code: number) => void = (code) => process.exit(code)): Promise<NodeJS.Signals> {
    return new Promise((resolve) => {
      const handle = (signal: NodeJS.Signals) => {
        void this.run().then(() => {
          resolve(signal);
          exit(0);
        });
      };
      process.once('SIGINT', handle);
      process.once('SIGTERM', handle);
    });
  }
}
