import type { InventoryEvent } from '../../domain/inventory/events.js';
import type { Transaction } from '../projection.js';

export type InventoryChange = { ticketTypeId: string; position: string; event: InventoryEvent };

type ReservationEnd = {
  ticket_type_id: string;
  reservation_id: string;
  status: 'committed' | 'released';
  release_reason: string | null;
  ended_at: string;
};

type ReservationRow = {
  ticket_type_id: string;
  reservation_id: string;
  customer_id: string;
  quantity: number;
  status: 'reserved' | 'committed' | 'released';
  reserved_at: string;
  expires_at: string;
  release_reason: string | null;
  ended_at: string | null;
};

type Moves = { ticket_type_id: string; available: number; reserved: number; sold: number; position: string };

/**
 * Availability per ticket type and every reservation with how it ended (the audit trail), for a
 * whole batch in a handful of statements: new inventories, then each ticket type's net movement,
 * then new reservations, then the ones that ended. A reservation made and ended in one batch is
 * inserted as it ended: one write instead of two.
 */
export const applyInventoryChanges = async (
  tx: Transaction,
  schema: string,
  changes: readonly InventoryChange[],
): Promise<void> => {
  const initialized: object[] = [];
  const moves = new Map<string, Moves>();
  // Reservations made in this batch are inserted as they end up; others that ended are updated.
  const reserved = new Map<string, ReservationRow>();
  const ended = new Map<string, ReservationEnd>();
  const end = (
    ticketTypeId: string,
    reservationId: string,
    how: Omit<ReservationEnd, 'ticket_type_id' | 'reservation_id'>,
  ) => {
    const key = `${ticketTypeId}/${reservationId}`;
    const made = reserved.get(key);
    if (made) Object.assign(made, how);
    else ended.set(key, { ticket_type_id: ticketTypeId, reservation_id: reservationId, ...how });
  };
  const move = (
    ticketTypeId: string,
    position: string,
    available: number,
    reservedSeats: number,
    sold: number,
  ) => {
    const m = moves.get(ticketTypeId) ?? {
      ticket_type_id: ticketTypeId,
      available: 0,
      reserved: 0,
      sold: 0,
      position,
    };
    m.available += available;
    m.reserved += reservedSeats;
    m.sold += sold;
    m.position = position;
    moves.set(ticketTypeId, m);
  };
  for (const { ticketTypeId, position, event } of changes) {
    switch (event.type) {
      case 'InventoryInitialized':
        initialized.push({
          ticket_type_id: ticketTypeId,
          show_id: event.data.showId,
          capacity: event.data.capacity,
          position,
        });
        break;
      case 'SeatsReserved': {
        const { reservationId, customerId, quantity, reservedAt, expiresAt } = event.data;
        move(ticketTypeId, position, -quantity, quantity, 0);
        reserved.set(`${ticketTypeId}/${reservationId}`, {
          ticket_type_id: ticketTypeId,
          reservation_id: reservationId,
          customer_id: customerId,
          quantity,
          status: 'reserved',
          reserved_at: reservedAt,
          expires_at: expiresAt,
          release_reason: null,
          ended_at: null,
        });
        break;
      }
      case 'ReservationCommitted':
        move(ticketTypeId, position, 0, -event.data.quantity, event.data.quantity);
        end(ticketTypeId, event.data.reservationId, {
          status: 'committed',
          release_reason: null,
          ended_at: event.data.committedAt,
        });
        break;
      case 'ReservationReleased':
        move(ticketTypeId, position, event.data.quantity, -event.data.quantity, 0);
        end(ticketTypeId, event.data.reservationId, {
          status: 'released',
          release_reason: event.data.reason,
          ended_at: event.data.releasedAt,
        });
        break;
      case 'SalesOpened':
      case 'SalesClosed':
        break; // the show's own events carry these for the catalog
    }
  }
  if (initialized.length > 0)
    await tx.query(
      `INSERT INTO ${schema}.availability (ticket_type_id, show_id, capacity, available, reserved, sold, position)
       SELECT ticket_type_id, show_id, capacity, capacity, 0, 0, position
       FROM jsonb_to_recordset($1::jsonb) AS r(ticket_type_id uuid, show_id uuid, capacity integer, position text)`,
      [JSON.stringify(initialized)],
    );
  if (moves.size > 0)
    await tx.query(
      `UPDATE ${schema}.availability a
       SET available = a.available + m.available, reserved = a.reserved + m.reserved, sold = a.sold + m.sold,
           position = m.position
       FROM jsonb_to_recordset($1::jsonb)
         AS m(ticket_type_id uuid, available integer, reserved integer, sold integer, position text)
       WHERE a.ticket_type_id = m.ticket_type_id`,
      [JSON.stringify([...moves.values()])],
    );
  if (reserved.size > 0)
    await tx.query(
      `INSERT INTO ${schema}.reservations (ticket_type_id, reservation_id, customer_id, quantity, status,
         reserved_at, expires_at, release_reason, ended_at)
       SELECT ticket_type_id, reservation_id, customer_id, quantity, status, reserved_at, expires_at,
         release_reason, ended_at
       FROM jsonb_to_recordset($1::jsonb) AS r(ticket_type_id uuid, reservation_id text, customer_id text,
         quantity integer, status text, reserved_at timestamptz, expires_at timestamptz, release_reason text,
         ended_at timestamptz)`,
      [JSON.stringify([...reserved.values()])],
    );
  if (ended.size > 0)
    await tx.query(
      `UPDATE ${schema}.reservations r
       SET status = e.status, release_reason = e.release_reason, ended_at = e.ended_at
       FROM jsonb_to_recordset($1::jsonb) AS e(ticket_type_id uuid, reservation_id text, status text,
         release_reason text, ended_at timestamptz)
       WHERE r.ticket_type_id = e.ticket_type_id AND r.reservation_id = e.reservation_id`,
      [JSON.stringify([...ended.values()])],
    );
};
