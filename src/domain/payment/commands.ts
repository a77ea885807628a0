export type RequestPayment = {
  type: 'RequestPayment';
  data: {
    orderId: string;
    attemptId: string;
    idempotencyKey: string;
    requestHash: string;
    amountCents: number;
    currency: string;
    now: Date;
  };
};
export type RecordPaymentSuccess = {
  type: 'RecordPaymentSuccess';
  data: { attemptId: string; chargeId: string; now: Date };
};
export type RecordPaymentFailure = {
  type: 'RecordPaymentFailure';
  data: { attemptId: string; reason: string; retryable: boolean; now: Date };
};
export type RefundPayment = { type: 'RefundPayment'; data: { reason: string; now: Date } };

export type PaymentCommand = RequestPayment | RecordPaymentSuccess | RecordPaymentFailure | RefundPayment;
