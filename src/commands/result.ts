import { type DomainError, reject } from '../domain/decider.js';

/** What a use case answers: its value, or a typed refusal the API turns into a 4xx. */
export type UseCaseResult<T, Code extends string> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: DomainError<Code> };

export const succeed = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });

/** A use case's refusal has the shape of a decider's. */
export const refuse = reject;

/**
 * Passes an ok result, or a refusal whose code means the step was already done (an idempotent
 * repeat of a saga step); throws any other refusal.
 */
export const allowOnly = (
  result: { readonly ok: true } | { readonly ok: false; readonly error: DomainError },
  done: readonly string[],
): void => {
  if (!result.ok && !done.includes(result.error.code)) throw result.error;
};
