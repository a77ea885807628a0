import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { WriterClosedError, WriterOverloadedError } from '../commands/hotStreamWriter.js';
import { PaymentUnavailableError } from '../commands/payOrder.js';
import { EventStoreUnavailableError } from '../eventstore/eventStore.js';
import { AvailabilityCacheUnavailableError } from '../projections/availabilityCache/availabilityCache.js';
import { InvalidCursorError } from '../projections/pageCursor.js';
import { type FieldProblem, type Problem, ProblemError, problem } from './problem.js';

const PROBLEM_JSON = 'application/problem+json';
const RETRY_AFTER_SECONDS = '5';

// Network errors and PostgreSQL's "cannot serve now" classes: a dependency is down, not a bug.
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  '57P01',
  '57P03',
]);
// Refusals that mean "not now": retrying the same request later is safe.
const BUSY_OR_AWAY = [PaymentUnavailableError, WriterOverloadedError, WriterClosedError];

const isBusyOrAway = (error: unknown): boolean => BUSY_OR_AWAY.some((kind) => error instanceof kind);

// ioredis gives up on a command with these; they carry no code.
const REDIS_UNAVAILABLE = new Set(['MaxRetriesPerRequestError']);
// Our own adapters say "not now" with their own errors.
const STORE_UNAVAILABLE = [EventStoreUnavailableError, AvailabilityCacheUnavailableError];

const isUnavailable = (error: unknown): boolean => {
  if (isBusyOrAway(error)) return true;
  if (error instanceof Error && REDIS_UNAVAILABLE.has(error.name)) return true;
  if (STORE_UNAVAILABLE.some((kind) => error instanceof kind)) return true;
  const code = (error as { code?: unknown }).code;
  if (
    typeof code === 'string' &&
    (UNAVAILABLE_CODES.has(code) || code.startsWith('08') || code.startsWith('53'))
  )
    return true;
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|timeout exceeded when trying to connect/i.test(message);
};

const fieldProblems = (error: FastifyError): FieldProblem[] =>
  (error.validation ?? []).map((issue) => {
    const path = (issue.params as { issue?: { path?: (string | number)[] } }).issue?.path;
    const where = error.validationContext ?? 'request';
    return {
      path: [where, ...(path ?? issue.instancePath.split('/').filter(Boolean))].join('.'),
      message: issue.message ?? 'is not valid',
    };
  });

// PostgreSQL class 22 (data exception): invalid text representation, datetime format, NUL...
const DATA_EXCEPTIONS = new Set(['22P02', '22007', '22008', '22021', '22P05', '22003', '22001']);

const CODE_BY_STATUS: Record<number, string> = {
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'not_found',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

/**
 * Every error leaves as application/problem+json with a stable code: bad input is a 4xx that
 * says what is wrong, a dependency that is down is a 503 with Retry-After, and anything else a
 * 500 that shows no internals.
 */
export const registerErrorHandling = (app: FastifyInstance): void => {
  const send = (
    reply: { code: (s: number) => { type: (t: string) => { send: (b: Problem) => unknown } } },
    body: Problem,
  ) => reply.code(body.status).type(PROBLEM_JSON).send(body);

  app.setNotFoundHandler((request, reply) =>
    send(reply, problem(404, 'not_found', `no route ${request.method} ${request.url.split('?')[0]}`)),
  );

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(error))
      return send(
        reply,
        problem(400, 'validation_failed', 'the request does not match its schema', fieldProblems(error)),
      );
    if (error instanceof ProblemError) {
      reply.headers(error.headers);
      return send(reply, problem(error.status, error.code, error.message));
    }
    if (error instanceof InvalidCursorError)
      return send(
        reply,
        problem(400, 'validation_failed', error.message, [
          { path: 'querystring.cursor', message: error.message },
        ]),
      );
    switch (error.code) {
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return send(reply, problem(400, 'invalid_json', 'the body is not valid JSON'));
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return send(reply, problem(413, 'payload_too_large', 'the body is larger than this API accepts'));
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return send(reply, problem(415, 'unsupported_media_type', 'send the body as application/json'));
    }
    if (isUnavailable(error)) {
      // An expected refusal (a declined gateway, a full queue) is news, not an incident.
      if (isBusyOrAway(error)) request.log.info({ reason: error.message }, 'answered 503');
      else request.log.warn({ err: error }, 'a dependency is unavailable');
      reply.header('retry-after', RETRY_AFTER_SECONDS);
      return send(
        reply,
        problem(
          503,
          'unavailable',
          error instanceof PaymentUnavailableError
            ? error.message
            : 'a service this request needs is unavailable or busy; try again shortly',
        ),
      );
    }
    // A value PostgreSQL cannot take (a bad date, a NUL) is bad input that got past a schema.
    if (typeof error.code === 'string' && DATA_EXCEPTIONS.has(error.code))
      return send(reply, problem(400, 'validation_failed', 'a value in the request is not acceptable'));
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500)
      return send(
        reply,
        problem(error.statusCode, CODE_BY_STATUS[error.statusCode] ?? 'validation_failed', error.message),
      );
    request.log.error({ err: error }, 'request failed');
    return send(reply, problem(500, 'internal_error', 'something went wrong on our side'));
  });
};
