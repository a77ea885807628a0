import type pg from 'pg';
import type { OrderLine } from '../../domain/order/events.js';
import { decodeCursor, type Page, pageOf } from '../pageCursor.js';
import { READ_MODEL_SCHEMA } from '../readModelSchema.js';

const S = READ_MODEL_SCHEMA;

export type ShowSummary = {
  showId: string;
  name: string;
  venue: string;
  startsAt: string;
  salesOpenAt: string;
  salesClosed: boolean;
  currency: string;
};

export type Show = ShowSummary & {
  holdSeconds: number;
  ticketTypes: {
    ticketTypeId: string;
    name: string;
    priceCents: number;
    capacity: number;
    maxPerCustomer: number;
  }[];
};

export type Availability = {
  showId: string;
  asOf: string;
  ticketTypes: {
    ticketTypeId: string;
    capacity: number;
    available: number;
    reserved: number;
    sold: number;
  }[];
};

export type OrderSummary = {
  orderId: string;
  customerId: string;
  showId: string;
  status: string;
  lines: OrderLine[];
  totalCents: number;
  currency: string;
  createdAt: string;
  expiresAt: string | null;
  payment: { status: string; attempts: number } | null;
  rejectReason?: string;
  cancelReason?: string;
  refunded?: boolean;
};

const iso = (value: Date | null): string | null => (value ? value.toISOString() : null);

type ShowRow = {
  show_id: string;
  name: string;
  venue: string;
  starts_at: Date;
  sales_open_at: Date;
  sales_closed: boolean;
  currency: string;
  hold_seconds: number;
};

const toSummary = (r: ShowRow): ShowSummary => ({
  showId: r.show_id,
  name: r.name,
  venue: r.venue,
  startsAt: r.starts_at.toISOString(),
  salesOpenAt: r.sales_open_at.toISOString(),
  salesClosed: r.sales_closed,
  currency: r.currency,
});

/** Shows by start time, then id; `cursor` continues after the previous page. */
export const listShows = async (
  db: pg.Pool,
  { limit, cursor }: { limit: number; cursor?: string },
): Promise<Page<ShowSummary>> => {
  const after = cursor ? decodeCursor(cursor) : undefined;
  const { rows } = await db.query<ShowRow>(
    `SELECT * FROM ${S}.shows
     WHERE $1::timestamptz IS NULL OR (starts_at, show_id) > ($1::timestamptz, $2::uuid)
     ORDER BY starts_at, show_id LIMIT $3`,
    [after?.[0] ?? null, after?.[1] ?? null, limit + 1],
  );
  return pageOf(rows.map(toSummary), limit, (s) => [s.startsAt, s.showId]);
};

export const getShow = async (db: pg.Pool, showId: string): Promise<Show | undefined> => {
  const [shows, types] = await Promise.all([
    db.query<ShowRow>(`SELECT * FROM ${S}.shows WHERE show_id = $1`, [showId]),
    db.query<{
      ticket_type_id: string;
      name: string;
      price_cents: string;
      capacity: number;
      max_per_customer: number;
    }>(`SELECT * FROM ${S}.ticket_types WHERE show_id = $1 ORDER BY ordinal`, [showId]),
  ]);
  const show = shows.rows[0];
  if (!show) return undefined;
  return {
    ...toSummary(show),
    holdSeconds: show.hold_seconds,
    ticketTypes: types.rows.map((t) => ({
      ticketTypeId: t.ticket_type_id,
      name: t.name,
      priceCents: Number(t.price_cents),
      capacity: t.capacity,
      maxPerCustomer: t.max_per_customer,
    })),
  };
};

/** Availability of a show's ticket types (by id) from PostgreSQL: the cache's fallback. */
export const getAvailability = async (db: pg.Pool, showId: string): Promise<Availability | undefined> => {
  const { rows } = await db.query<{
    ticket_type_id: string;
    capacity: number;
    available: number;
    reserved: number;
    sold: number;
  }>(`SELECT * FROM ${S}.availability WHERE show_id = $1 ORDER BY ticket_type_id`, [showId]);
  if (rows.length === 0) return undefined;
  return {
    showId,
    asOf: new Date().toISOString(),
    ticketTypes: rows.map((r) => ({
      ticketTypeId: r.ticket_type_id,
      capacity: r.capacity,
      available: r.available,
      reserved: r.reserved,
      sold: r.sold,
    })),
  };
};

type OrderRow = {
  order_id: string;
  customer_id: string;
  show_id: string;
  status: string;
  lines: OrderLine[];
  total_cents: string;
  currency: string;
  created_at: Date;
  expires_at: Date | null;
  reject_reason: string | null;
  cancel_reason: string | null;
  refunded: boolean;
  payment_status: string | null;
  payment_attempts: number;
};

const toOrder = (r: OrderRow): OrderSummary => {
  const order: OrderSummary = {
    orderId: r.order_id,
    customerId: r.customer_id,
    showId: r.show_id,
    status: r.status === 'placed' ? 'reserved' : r.status,
    lines: r.lines,
    totalCents: Number(r.total_cents),
    currency: r.currency,
    createdAt: r.created_at.toISOString(),
    expiresAt: iso(r.expires_at),
    payment: r.payment_status ? { status: r.payment_status, attempts: r.payment_attempts } : null,
  };
  if (r.reject_reason) order.rejectReason = r.reject_reason;
  if (r.cancel_reason) {
    order.cancelReason = r.cancel_reason;
    order.refunded = r.refunded;
  }
  return order;
};

export const getOrder = async (db: pg.Pool, orderId: string): Promise<OrderSummary | undefined> => {
  const { rows } = await db.query<OrderRow>(`SELECT * FROM ${S}.orders WHERE order_id = $1`, [orderId]);
  return rows[0] ? toOrder(rows[0]) : undefined;
};

/** A customer's orders, newest first. */
export const listCustomerOrders = async (
  db: pg.Pool,
  customerId: string,
  { limit, cursor }: { limit: number; cursor?: string },
): Promise<Page<OrderSummary>> => {
  const before = cursor ? decodeCursor(cursor) : undefined;
  const { rows } = await db.query<OrderRow>(
    `SELECT * FROM ${S}.orders
     WHERE customer_id = $1 AND ($2::timestamptz IS NULL OR (created_at, order_id) < ($2::timestamptz, $3::uuid))
     ORDER BY created_at DESC, order_id DESC LIMIT $4`,
    [customerId, before?.[0] ?? null, before?.[1] ?? null, limit + 1],
  );
  return pageOf(rows.map(toOrder), limit, (o) => [o.createdAt, o.orderId]);
};
