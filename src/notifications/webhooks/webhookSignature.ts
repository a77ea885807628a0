import { createHmac, randomBytes } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-flashtix-signature';

/** A new signing secret, shown to the admin once when the webhook is registered. */
export const newWebhookSecret = (): string => `whsec_${randomBytes(32).toString('base64url')}`;

/**
 * The `X-FlashTix-Signature` value: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`. The
 * timestamp is signed with the body so that a receiver can refuse an old delivery replayed;
 * `examples/webhookReceiver.ts` shows the receiver's side.
 */
export const signWebhookBody = (secret: string, body: string, timestamp: number): string =>
  `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
