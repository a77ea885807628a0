import { Pool } from 'undici';

export type HttpCall = {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
};

export type HttpAnswer = {
  /** 0 when the request failed without an answer (a refused or reset connection). */
  status: number;
  body: string;
  /** When the answer arrived, ms on the performance clock. */
  at: number;
  latencyMs: number;
};

export type LoadRun = { startedAt: number; finishedAt: number; answers: HttpAnswer[] };

/**
 * Sends `count` requests over `connections` keep-alive connections, each connection one request
 * at a time (no pipelining), as a crowd of browsers behind a load balancer would. undici's pool
 * is the lightest HTTP client Node has, which matters when client and server share the cores.
 */
export const sendLoad = async (
  origin: string,
  connections: number,
  count: number,
  callFor: (index: number) => HttpCall,
  onAnswer?: (index: number, answer: HttpAnswer) => void,
): Promise<LoadRun> => {
  const pool = new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
  const answers: HttpAnswer[] = new Array(count);
  let next = 0;
  const startedAt = performance.now();
  const worker = async () => {
    for (let index = next++; index < count; index = next++) {
      const call = callFor(index);
      const sent = performance.now();
      let answer: HttpAnswer;
      try {
        const response = await pool.request({ ...call, origin });
        const body = await response.body.text();
        const at = performance.now();
        answer = { status: response.statusCode, body, at, latencyMs: at - sent };
      } catch (error) {
        const at = performance.now();
        answer = { status: 0, body: String(error), at, latencyMs: at - sent };
      }
      answers[index] = answer;
      onAnswer?.(index, answer);
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  const finishedAt = performance.now();
  await pool.close();
  return { startedAt, finishedAt, answers };
};
