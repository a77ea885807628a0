import { describe, expect, it } from 'vitest';
import { BatchedWrites } from './batchedWrites.js';

describe('BatchedWrites', () => {
  it('writes the first item alone, then everything that came meanwhile in one batch', async () => {
    const batches: number[][] = [];
    const writes = new BatchedWrites(async (items: number[]) => {
      batches.push(items);
      await new Promise((resolve) => setTimeout(resolve, 10));
      return items.map((i) => i * 10);
    });
    const answers = await Promise.all([1, 2, 3, 4].map((i) => writes.submit(i)));
    expect(answers).toEqual([10, 20, 30, 40]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
    expect(await writes.submit(5)).toBe(50);
    expect(batches.at(-1)).toEqual([5]);
  });

  it('fails every item of a failed batch, and goes on with the next', async () => {
    let calls = 0;
    const writes = new BatchedWrites(async (items: string[]) => {
      calls++;
      if (calls === 2) throw new Error('write failed');
      return items;
    });
    const first = writes.submit('a');
    const failed = [writes.submit('b'), writes.submit('c')];
    expect(await first).toBe('a');
    for (const item of failed) await expect(item).rejects.toThrow('write failed');
    expect(await writes.submit('d')).toBe('d');
  });
});
