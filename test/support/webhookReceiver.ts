import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type FlashTixEvent, verifyFlashTixSignature } from '../../examples/webhookReceiver.js';

export type ReceivedDelivery = {
  headers: IncomingHttpHeaders;
  rawBody: string;
  event: FlashTixEvent;
  /** Whether X-FlashTix-Signature signs this body under the receiver's secret. */
  signed: boolean;
  /** What the receiver answered: a status, no answer at all, or a 200 whose body takes 1.5 s. */
  answer: number | 'none' | 'trickle';
  /** When the request came and when it was answered (performance.now()). */
  arrivedAt: number;
  answeredAt?: number;
};

/** How to answer the `index`th request (from 0) carrying this event. */
export type Answer = (event: FlashTixEvent, index: number) => ReceivedDelivery['answer'];

export type WebhookReceiver = {
  url: string;
  /** Every request, in the order they came, whatever was answered. */
  received: ReceivedDelivery[];
  /** Events answered 2xx, each once: what a receiver that de-duplicates by id handled. */
  handled: () => FlashTixEvent[];
  setSecret(secret: string): void;
  answerWith(answer: Answer): void;
  close(): Promise<void>;
};

/** A webhook endpoint on loopback that records what it gets and answers as the test says. */
export const startWebhookReceiver = async (
  answer: Answer = () => 204,
  /** Answers take up to this long, at random, so that deliveries on the wire overtake each other. */
  { jitterMs = 0 }: { jitterMs?: number } = {},
): Promise<WebhookReceiver> => {
  let secret = '';
  let answerOf = answer;
  const received: ReceivedDelivery[] = [];
  const unanswered = new Set<ServerResponse>();
  const server = createServer((request, response) => {
    let rawBody = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      rawBody += chunk;
    });
    request.on('end', () => {
      const event = JSON.parse(rawBody) as FlashTixEvent;
      const index = received.filter((r) => r.event.id === event.id).length;
      const status = answerOf(event, index);
      const delivery: ReceivedDelivery = {
        arrivedAt: performance.now(),
        headers: request.headers,
        rawBody,
        event,
        signed: verifyFlashTixSignature(secret, request.headers['x-flashtix-signature'] as string, rawBody),
        answer: status,
      };
      received.push(delivery);
      if (status === 'none') unanswered.add(response);
      else if (status === 'trickle') {
        unanswered.add(response);
        response.writeHead(200);
        const drip = setInterval(() => response.write('.'), 100);
        setTimeout(() => {
          clearInterval(drip);
          response.end();
        }, 1500);
        response.on('close', () => clearInterval(drip));
      } else
        setTimeout(() => {
          delivery.answeredAt = performance.now();
          response.writeHead(status).end();
        }, Math.random() * jitterMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/flashtix-events`,
    received,
    handled: () => {
      const seen = new Set<string>();
      return received
        .filter((r) => typeof r.answer === 'number' && r.answer < 300)
        .map((r) => r.event)
        .filter((event) => !seen.has(event.id) && Boolean(seen.add(event.id)));
    },
    setSecret: (value) => {
      secret = value;
    },
    answerWith: (next) => {
      answerOf = next;
    },
    close: async () => {
      for (const response of unanswered) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
