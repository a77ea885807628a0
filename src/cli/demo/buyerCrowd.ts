import { randomUUID } from 'node:crypto';

export type CrowdSettings = {
  baseUrl: string;
  showId: string;
  ticketTypes: { ticketTypeId: string; maxPerCustomer: number }[];
  buyers: number;
  /** Buyers in flight at once. */
  concurrency: number;
  /** A bearer token for a new customer. */
  tokenFor: (customerId: string) => string;
};

/** What the crowd did, counted as it goes. */
export type CrowdTally = {
  buyersDone: number;
  reserved: number;
  soldOut: number;
  otherRefusals: number;
  confirmed: number;
  seatsConfirmed: number;
  declined: number;
  abandoned: number;
  cancelled: number;
  retried: number;
  rateLimited: number;
  failures: number;
  /** Latencies of POST /orders, ms. */
  orderLatencies: number[];
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Answer = { status: number; body: Record<string, unknown>; retryAfter: number };

/**
 * A flash-sale crowd over HTTP. Each buyer places one order; most pay, some are declined, some
 * cancel, some walk away and let their hold expire, and some lose the gateway once and pay
 * again. Lost answers and 503s are retried with the same Idempotency-Key, as a client should.
 */
export const runBuyerCrowd = async (
  settings: CrowdSettings,
  onProgress: (tally: CrowdTally) => void,
): Promise<CrowdTally> => {
  const tally: CrowdTally = {
    buyersDone: 0,
    reserved: 0,
    soldOut: 0,
    otherRefusals: 0,
    confirmed: 0,
    seatsConfirmed: 0,
    declined: 0,
    abandoned: 0,
    cancelled: 0,
    retried: 0,
    rateLimited: 0,
    failures: 0,
    orderLatencies: [],
  };

  const call = async (
    token: string,
    method: string,
    path: string,
    body?: unknown,
    key?: string,
  ): Promise<Answer> => {
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await fetch(`${settings.baseUrl}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body ? { 'content-type': 'application/json' } : {}),
            ...(key ? { 'idempotency-key': key } : {}),
          },
          body: body ? JSON.stringify(body) : undefined,
        });
        const answer: Answer = {
          status: response.status,
          body: (await response.json().catch(() => ({}))) as Record<string, unknown>,
          retryAfter: Number(response.headers.get('retry-after') ?? 1),
        };
        if (answer.status === 429) {
          tally.rateLimited++;
          await sleep(answer.retryAfter * 1000);
          continue;
        }
        // 503 means "not now": the same request, key and all, is safe to send again.
        if (answer.status !== 503 || attempt >= 5 || body === undefined) return answer;
        if ((body as { paymentToken?: string }).paymentToken === 'tok_error') return answer;
      } catch (error) {
        if (attempt >= 5) throw error;
      }
      tally.retried++;
      await sleep(50 * 2 ** attempt);
    }
  };

  const buyer = async () => {
    const customerId = randomUUID();
    const token = settings.tokenFor(customerId);
    const ticketType = settings.ticketTypes[Math.floor(Math.random() * settings.ticketTypes.length)]!;
    const quantity = 1 + Math.floor(Math.random() * Math.min(4, ticketType.maxPerCustomer));
    const started = performance.now();
    const placed = await call(
      token,
      'POST',
      '/orders',
      { showId: settings.showId, lines: [{ ticketTypeId: ticketType.ticketTypeId, quantity }] },
      randomUUID(),
    );
    tally.orderLatencies.push(performance.now() - started);
    if (placed.status === 409) {
      if (placed.body.code === 'sold_out') tally.soldOut++;
      else tally.otherRefusals++;
      return;
    }
    if (placed.status !== 201) {
      tally.failures++;
      return;
    }
    tally.reserved++;
    const orderId = placed.body.orderId as string;
    const roll = Math.random();
    if (roll < 0.06) {
      tally.abandoned++;
      return;
    }
    if (roll < 0.12) {
      const cancelled = await call(token, 'POST', `/orders/${orderId}/cancel`);
      if (cancelled.status === 200) tally.cancelled++;
      else tally.failures++;
      return;
    }
    const pay = (paymentToken: string) =>
      call(token, 'POST', `/orders/${orderId}/payment`, { paymentToken }, randomUUID());
    if (roll < 0.16) await pay('tok_error');
    const paid = await pay(roll < 0.24 ? 'tok_decline' : 'tok_visa');
    const order = paid.body.order as { status?: string } | undefined;
    if (paid.status === 200 && order?.status === 'confirmed') {
      tally.confirmed++;
      tally.seatsConfirmed += quantity;
    } else if (paid.status === 200) tally.declined++;
    else tally.failures++;
  };

  let next = 0;
  const worker = async () => {
    while (next < settings.buyers) {
      next++;
      try {
        await buyer();
      } catch {
        tally.failures++;
      }
      tally.buyersDone++;
      onProgress(tally);
    }
  };
  await Promise.all(Array.from({ length: Math.min(settings.concurrency, settings.buyers) }, worker));
  return tally;
};
