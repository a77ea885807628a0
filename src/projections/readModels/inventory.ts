import type { InventoryEvent } from '../../domain/inventory/events.js';
import type { Transaction } from '../projection.js';

/** Availability per ticket type, and every reservation with how it ended (the audit trail). */
export const applyInventoryEvent = async (
  tx: Transaction,
  schema: string,
  ticketTypeId: string,
  event: InventoryEvent,
  position: string,
): Promise<void> => {
  const move = (available: number, reserved: number, sold: number) =>
    tx.query(
      `UPDATE ${schema}.availability
       SET available = available + $2, reserved = reserved + $3, sold = sold + $4, position = $5
       WHERE ticket_type_id = $1`,
      [ticketTypeId, available, reserved, sold, position],
    );
  switch (event.type) {
    case 'InventoryInitialized':
      await tx.query(
        `INSERT INTO ${schema}.availability (ticket_type_id, show_id, capacity, available, reserved, sold, position)
         VALUES ($1, $2, $3, $3, 0, 0, $4)`,
        [ticketTypeId, event.data.showId, event.data.capacity, position],
      );
      return;
    case 'SeatsReserved': {
      const { reservationId, customerId, quantity, reservedAt, expiresAt } = event.data;
      await move(-quantity, quantity, 0);
      await tx.query(
        `INSERT INTO ${schema}.reservations
           (ticket_type_id, reservation_id, customer_id, quantity, status, reserved_at, expires_at)
         VALUES ($1, $2, $3, $4, 'reserved', $5, $6)`,
        [ticketTypeId, reservationId, customerId, quantity, reservedAt, expiresAt],
      );
      return;
    }
    case 'ReservationCommitted':
      await move(0, -event.data.quantity, event.data.quantity);
      await tx.query(
        `UPDATE ${schema}.reservations SET status = 'committed', ended_at = $3
         WHERE ticket_type_id = $1 AND reservation_id = $2`,
        [ticketTypeId, event.data.reservationId, event.data.committedAt],
      );
      return;
    case 'ReservationReleased':
      await move(event.data.quantity, -event.data.quantity, 0);
      await tx.query(
        `UPDATE ${schema}.reservations SET status = 'released', release_reason = $3, ended_at = $4
         WHERE ticket_type_id = $1 AND reservation_id = $2`,
        [ticketTypeId, event.data.reservationId, event.data.reason, event.data.releasedAt],
      );
      return;
    case 'SalesOpened':
    case 'SalesClosed':
      return; // the show's own events carry these for the catalog
  }
};
