type Waiting<Item, Answer> = {
  item: Item;
  resolve: (answer: Answer) => void;
  reject: (error: unknown) => void;
};

/**
 * Writes items one batch at a time: items submitted while a write is in flight wait for it and
 * then go together in the next one. With little load an item goes alone at once; under load the
 * batches grow by themselves, and a round trip serves many items.
 */
export class BatchedWrites<Item, Answer> {
  #waiting: Waiting<Item, Answer>[] = [];
  #writing = false;

  /** `write` answers each item of a batch, in the batch's order. */
  constructor(private readonly write: (items: Item[]) => Promise<Answer[]>) {}

  submit(item: Item): Promise<Answer> {
    return new Promise<Answer>((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject });
      void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    if (this.#writing) return;
    this.#writing = true;
    while (this.#waiting.length > 0) {
      const batch = this.#waiting.splice(0);
      try {
        const answers = await this.write(batch.map((w) => w.item));
        for (const [i, w] of batch.entries()) w.resolve(answers[i] as Answer);
      } catch (error) {
        for (const w of batch) w.reject(error);
      }
    }
    this.#writing = false;
  }
}
