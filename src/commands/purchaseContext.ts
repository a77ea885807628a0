import type { EventStore } from '../eventstore/eventStore.js';
import type { InventoryWriters } from './inventoryWriters.js';
import type { KeyedLocks } from './keyedLocks.js';
import type { PaymentGateway } from './paymentGateway.js';
import type { ShowCatalog } from './showCatalog.js';

/** The steps a purchase saga takes, in the names `onStep` hears them by. */
export type SagaStep =
  | 'commit-lines'
  | 'confirm-order'
  | 'release-lines'
  | 'refund-payment'
  | 'record-refund'
  | 'cancel-order'
  | 'record-late-charge';

/** Everything the purchase use cases work with, injected by whoever runs them. */
export type PurchaseContext = {
  store: EventStore;
  writers: InventoryWriters;
  catalog: ShowCatalog;
  gateway: PaymentGateway;
  /** Serialises the multi-stream steps of one order, across processes where the implementation can. */
  locks: KeyedLocks;
  /** Hears each saga step just before it runs (for metrics; tests throw here to simulate a crash). */
  onStep?: (step: SagaStep, orderId: string) => void;
};

export const orderLockKey = (orderId: string): string => `order:${orderId}`;
