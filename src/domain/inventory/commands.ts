import type { ReleaseReason } from './events.js';

export type InitializeInventory = {
  type: 'InitializeInventory';
  data: {
    ticketTypeId: string;
    showId: string;
    capacity: number;
    maxPerCustomer: number;
    holdSeconds: number;
    salesOpenAt: string;
    now: Date;
  };
};
/** The reservation id is the order id, which makes reserving idempotent per order. */
export type ReserveSeats = {
  type: 'ReserveSeats';
  data: { reservationId: string; customerId: string; quantity: number; now: Date };
};
export type CommitReservation = { type: 'CommitReservation'; data: { reservationId: string; now: Date } };
export type ReleaseReservation = {
  type: 'ReleaseReservation';
  data: { reservationId: string; reason: ReleaseReason; now: Date };
};
export type OpenInventorySales = { type: 'OpenInventorySales'; data: { now: Date } };
export type CloseInventorySales = { type: 'CloseInventorySales'; data: { now: Date } };

export type InventoryCommand =
  | InitializeInventory
  | ReserveSeats
  | CommitReservation
  | ReleaseReservation
  | OpenInventorySales
  | CloseInventorySales;
