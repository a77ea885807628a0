import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import {
  type ChargeOutcome,
  type ChargeRequest,
  type PaymentGateway,
  PaymentGatewayUnavailableError,
  type RefundRequest,
} from '../commands/paymentGateway.js';

/** The books the simulated gateway keeps: the first outcome recorded for a key is the outcome. */
export interface GatewayLedger {
  recordCharge(request: ChargeRequest, outcome: ChargeOutcome): Promise<ChargeOutcome>;
  findCharge(idempotencyKey: string): Promise<ChargeOutcome | undefined>;
  recordRefund(request: RefundRequest, refundId: string): Promise<{ refundId: string }>;
}

export class MemoryGatewayLedger implements GatewayLedger {
  readonly charges = new Map<string, ChargeOutcome>();
  readonly refunds = new Map<string, { refundId: string; chargeId: string }>();

  async recordCharge(request: ChargeRequest, outcome: ChargeOutcome): Promise<ChargeOutcome> {
    const first = this.charges.get(request.idempotencyKey) ?? outcome;
    this.charges.set(request.idempotencyKey, first);
    return first;
  }

  async findCharge(idempotencyKey: string): Promise<ChargeOutcome | undefined> {
    return this.charges.get(idempotencyKey);
  }

  async recordRefund(request: RefundRequest, refundId: string): Promise<{ refundId: string }> {
    const first = this.refunds.get(request.idempotencyKey) ?? { refundId, chargeId: request.chargeId };
    this.refunds.set(request.idempotencyKey, first);
    return { refundId: first.refundId };
  }
}

type ChargeRow = { status: 'succeeded' | 'declined'; charge_id: string | null; reason: string | null };

const fromRow = (row: ChargeRow): ChargeOutcome =>
  row.status === 'succeeded'
    ? { status: 'succeeded', chargeId: row.charge_id ?? '' }
    : { status: 'declined', reason: row.reason ?? 'declined' };

/** Books in PostgreSQL, so that the gateway stays idempotent across processes and restarts. */
export class PostgresGatewayLedger implements GatewayLedger {
  constructor(private readonly pool: pg.Pool) {}

  async recordCharge(request: ChargeRequest, outcome: ChargeOutcome): Promise<ChargeOutcome> {
    const result = await this.pool.query<ChargeRow>(
      `WITH inserted AS (
         INSERT INTO gateway_charges (idempotency_key, status, charge_id, reason, amount_cents, currency)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (idempotency_key) DO NOTHING
         RETURNING status, charge_id, reason)
       SELECT * FROM inserted
       UNION ALL SELECT status, charge_id, reason FROM gateway_charges WHERE idempotency_key = $1
       LIMIT 1`,
      [
        request.idempotencyKey,
        outcome.status,
        outcome.status === 'succeeded' ? outcome.chargeId : null,
        outcome.status === 'declined' ? outcome.reason : null,
        request.amountCents,
        request.currency,
      ],
    );
    // A concurrent first writer's row is invisible to this statement's snapshot: read it now.
    const row = result.rows[0] ?? (await this.#chargeRow(request.idempotencyKey));
    if (!row) throw new Error(`charge ${request.idempotencyKey} vanished`);
    return fromRow(row);
  }

  async #chargeRow(idempotencyKey: string): Promise<ChargeRow | undefined> {
    const result = await this.pool.query<ChargeRow>(
      'SELECT status, charge_id, reason FROM gateway_charges WHERE idempotency_key = $1',
      [idempotencyKey],
    );
    return result.rows[0];
  }

  async findCharge(idempotencyKey: string): Promise<ChargeOutcome | undefined> {
    const row = await this.#chargeRow(idempotencyKey);
    return row ? fromRow(row) : undefined;
  }

  async recordRefund(request: RefundRequest, newRefundId: string): Promise<{ refundId: string }> {
    const result = await this.pool.query<{ refund_id: string }>(
      `WITH inserted AS (
         INSERT INTO gateway_refunds (idempotency_key, charge_id, refund_id, amount_cents)
         VALUES ($1, $2, $3, $4) ON CONFLICT (idempotency_key) DO NOTHING RETURNING refund_id)
       SELECT refund_id FROM inserted
       UNION ALL SELECT refund_id FROM gateway_refunds WHERE idempotency_key = $1
       LIMIT 1`,
      [request.idempotencyKey, request.chargeId, newRefundId, request.amountCents],
    );
    const refundId =
      result.rows[0]?.refund_id ??
      (
        await this.pool.query<{ refund_id: string }>(
          'SELECT refund_id FROM gateway_refunds WHERE idempotency_key = $1',
          [request.idempotencyKey],
        )
      ).rows[0]?.refund_id;
    if (!refundId) throw new Error(`refund ${request.idempotencyKey} vanished`);
    return { refundId };
  }
}

export type SimulatedGatewayOptions = {
  ledger: GatewayLedger;
  /** Added to every call, to play a slow gateway. */
  latencyMs?: number;
};

/**
 * A stand-in card processor: `tok_decline` is declined, `tok_error` fails before charging
 * (retry-safe), anything else is charged. Charges and refunds are idempotent by key.
 */
export class SimulatedPaymentGateway implements PaymentGateway {
  constructor(private readonly options: SimulatedGatewayOptions) {}

  async charge(request: ChargeRequest): Promise<ChargeOutcome> {
    await this.#delay();
    const known = await this.options.ledger.findCharge(request.idempotencyKey);
    if (known) return known;
    if (request.paymentToken === 'tok_error')
      throw new PaymentGatewayUnavailableError('the card network did not answer; nothing was charged');
    const outcome: ChargeOutcome =
      request.paymentToken === 'tok_decline'
        ? { status: 'declined', reason: 'card_declined' }
        : { status: 'succeeded', chargeId: `ch_${randomUUID()}` };
    return this.options.ledger.recordCharge(request, outcome);
  }

  async refund(request: RefundRequest): Promise<{ refundId: string }> {
    await this.#delay();
    return this.options.ledger.recordRefund(request, `re_${randomUUID()}`);
  }

  findCharge(idempotencyKey: string): Promise<ChargeOutcome | undefined> {
    return this.options.ledger.findCharge(idempotencyKey);
  }

  async #delay(): Promise<void> {
    if (this.options.latencyMs) await new Promise((resolve) => setTimeout(resolve, this.options.latencyMs));
  }
}
