import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type FlashTixEvent, verifyFlashTixSignature } from '../examples/webhookReceiver.js';

export type SinkFigures = {
  /** Requests, and the distinct events among them. */
  requests: number;
  events: number;
  badSignatures: number;
  /** Events of an order that came before an earlier event of the same order. */
  outOfOrder: number;
  firstAt: number | undefined;
  lastAt: number | undefined;
};

export type WebhookSink = {
  url: string;
  setSecret(secret: string): void;
  figures(): SinkFigures;
  close(): Promise<void>;
};

const ORDER_OF_TYPES: Record<FlashTixEvent['type'], number> = {
  'order.placed': 0,
  'order.rejected': 1,
  'order.confirmed': 1,
  'order.cancelled': 1,
  'order.expired': 1,
};

/** A webhook endpoint on loopback that answers 204 at once and counts what it gets. */
export const startWebhookSink = async (): Promise<WebhookSink> => {
  let secret = '';
  const seen = new Set<string>();
  const lastTypeOfOrder = new Map<string, number>();
  const figures: SinkFigures = {
    requests: 0,
    events: 0,
    badSignatures: 0,
    outOfOrder: 0,
    firstAt: undefined,
    lastAt: undefined,
  };
  const server = createServer((request, response) => {
    let rawBody = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      rawBody += chunk;
    });
    request.on('end', () => {
      const now = performance.now();
      figures.requests++;
      figures.firstAt ??= now;
      figures.lastAt = now;
      if (!verifyFlashTixSignature(secret, request.headers['x-flashtix-signature'] as string, rawBody))
        figures.badSignatures++;
      const event = JSON.parse(rawBody) as FlashTixEvent;
      if (!seen.has(event.id)) {
        seen.add(event.id);
        figures.events++;
        const rank = ORDER_OF_TYPES[event.type];
        if ((lastTypeOfOrder.get(event.data.orderId) ?? -1) > rank) figures.outOfOrder++;
        lastTypeOfOrder.set(event.data.orderId, rank);
      }
      response.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`,
    setSecret: (value) => {
      secret = value;
    },
    figures: () => ({ ...figures }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
