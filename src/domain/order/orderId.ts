import { v5 as uuidv5 } from 'uuid';

// Fixed namespace: changing it would give every retried request a new order id.
const ORDER_ID_NAMESPACE = '6f1c2a52-8d0e-4c38-9a51-3c5b1e0f7a94';

/**
 * The order id is derived from who asked and their Idempotency-Key, so a retried
 * request lands on the same `order-{id}` stream instead of buying twice.
 */
export const orderIdFor = (customerId: string, idempotencyKey: string): string =>
  uuidv5(`${customerId.length}:${customerId}:${idempotencyKey}`, ORDER_ID_NAMESPACE);
