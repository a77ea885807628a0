import type { ShowEvent } from '../../domain/show/events.js';
import type { Transaction } from '../projection.js';

/** Shows and their ticket types, for the catalog. */
export const applyShowEvent = async (tx: Transaction, schema: string, event: ShowEvent): Promise<void> => {
  switch (event.type) {
    case 'ShowScheduled': {
      const s = event.data;
      await tx.query(
        `INSERT INTO ${schema}.shows (show_id, name, venue, starts_at, sales_open_at, currency, hold_seconds, scheduled_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [s.showId, s.name, s.venue, s.startsAt, s.salesOpenAt, s.currency, s.holdSeconds, s.scheduledAt],
      );
      await tx.query(
        `INSERT INTO ${schema}.ticket_types (ticket_type_id, show_id, ordinal, name, price_cents, capacity, max_per_customer)
         SELECT t.ticket_type_id, $1, t.ordinal - 1, t.name, t.price_cents, t.capacity, t.max_per_customer
         FROM ROWS FROM (jsonb_to_recordset($2::jsonb)
           AS (ticket_type_id uuid, name text, price_cents bigint, capacity integer, max_per_customer integer))
           WITH ORDINALITY AS t(ticket_type_id, name, price_cents, capacity, max_per_customer, ordinal)`,
        [
          s.showId,
          JSON.stringify(
            s.ticketTypes.map((t) => ({
              ticket_type_id: t.ticketTypeId,
              name: t.name,
              price_cents: t.priceCents,
              capacity: t.capacity,
              max_per_customer: t.maxPerCustomer,
            })),
          ),
        ],
      );
      return;
    }
    case 'SalesOpened':
      await tx.query(
        `UPDATE ${schema}.shows SET sales_closed = false, sales_open_at = least(sales_open_at, $2) WHERE show_id = $1`,
        [event.data.showId, event.data.openedAt],
      );
      return;
    case 'SalesClosed':
      await tx.query(`UPDATE ${schema}.shows SET sales_closed = true WHERE show_id = $1`, [
        event.data.showId,
      ]);
      return;
  }
};
