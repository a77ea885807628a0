import { DomainError } from '../domain/decider.js';

/** What a use case answers: its value, or a typed refusal the API turns into a 4xx. */
export type UseCaseResult<T, Code extends string> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: DomainError<Code> };

export const succeed = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });

export const refuse = <Code extends string>(
  code: Code,
  message: string,
): { ok: false; error: DomainError<Code> } => ({
  ok: false,
  error: new DomainError(code, message),
});
