export type ChargeRequest = {
  /** The gateway charges once per key: a retried charge gets the first one's outcome. */
  idempotencyKey: string;
  amountCents: number;
  currency: string;
  paymentToken: string;
};

export type ChargeOutcome =
  | { status: 'succeeded'; chargeId: string }
  | { status: 'declined'; reason: string };

export type RefundRequest = { idempotencyKey: string; chargeId: string; amountCents: number };

/** The gateway failed before charging anything; the same charge may be tried again. */
export class PaymentGatewayUnavailableError extends Error {
  override readonly name = 'PaymentGatewayUnavailableError';
}

export interface PaymentGateway {
  /** Throws PaymentGatewayUnavailableError when nothing was charged and a retry is safe. */
  charge(request: ChargeRequest): Promise<ChargeOutcome>;
  /** Refunds once per key. */
  refund(request: RefundRequest): Promise<{ refundId: string }>;
  /** The outcome of a charge made with this key, if one was made. */
  findCharge(idempotencyKey: string): Promise<ChargeOutcome | undefined>;
}
