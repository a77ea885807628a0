/**
 * A FlashTix webhook receiver, as a starting point for your own: it checks the signature,
 * refuses deliveries older than five minutes, and handles each event once although FlashTix may
 * deliver it more than once (at least once, retried until a 2xx).
 *
 *   WEBHOOK_SECRET=whsec_... PORT=4000 npx tsx examples/webhookReceiver.ts
 *
 * Node.js built-ins only. `verifyFlashTixSignature` is what FlashTix's own tests check deliveries with.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';

/** True when `header` (X-FlashTix-Signature: `t=<unix seconds>,v1=<hex>`) signs this exact body. */
export const verifyFlashTixSignature = (
  secret: string,
  header: string | undefined,
  rawBody: string,
  nowMs = Date.now(),
  toleranceSeconds = 300,
): boolean => {
  const fields = new Map((header ?? '').split(',').map((field) => field.split('=', 2) as [string, string]));
  const timestamp = Number(fields.get('t'));
  const signature = Buffer.from(fields.get('v1') ?? '');
  if (!Number.isInteger(timestamp) || Math.abs(nowMs / 1000 - timestamp) > toleranceSeconds) return false;
  // Sign the raw bytes received, not a re-serialised JSON.parse of them.
  const expected = Buffer.from(createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex'));
  return signature.length === expected.length && timingSafeEqual(signature, expected);
};

export type FlashTixEvent = {
  id: string;
  type: 'order.placed' | 'order.confirmed' | 'order.cancelled' | 'order.expired' | 'order.rejected';
  createdAt: string;
  data: { orderId: string; customerId: string; showId: string; status: string } & Record<string, unknown>;
};

const main = () => {
  const secret = process.env.WEBHOOK_SECRET;
  if (!secret)
    throw new Error('set WEBHOOK_SECRET to the secret FlashTix gave when the webhook was registered');
  // Keep these in your database, in the same transaction as what you do with the event.
  const handled = new Set<string>();
  createServer((request, response) => {
    let rawBody = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      rawBody += chunk;
    });
    request.on('end', () => {
      if (!verifyFlashTixSignature(secret, request.headers['x-flashtix-signature'] as string, rawBody)) {
        response.writeHead(401).end();
        return;
      }
      const event = JSON.parse(rawBody) as FlashTixEvent;
      if (!handled.has(event.id)) {
        handled.add(event.id);
        console.log(`${event.type} for order ${event.data.orderId}`);
      }
      // A 2xx for a duplicate too, or FlashTix tries again.
      response.writeHead(204).end();
    });
  }).listen(Number(process.env.PORT ?? 4000));
};

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
