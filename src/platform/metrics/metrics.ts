import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Everything FlashTix reports to Prometheus, in one registry per process (not prom-client's
 * global one, so that several apps in one test process do not share counters).
 */
export class Metrics {
  readonly registry = new Registry();

  readonly httpRequestDuration = new Histogram({
    name: 'flashtix_http_request_duration_seconds',
    help: 'HTTP request latency by route and status',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly holds = new Counter({
    name: 'flashtix_holds_total',
    help: 'Seat holds taken (SeatsReserved events appended)',
    registers: [this.registry],
  });

  readonly eventsAppended = new Counter({
    name: 'flashtix_events_appended_total',
    help: 'Events appended to the event store by this process, by type',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });

  readonly appendConflicts = new Counter({
    name: 'flashtix_append_conflicts_total',
    help: 'Appends refused for a wrong expected revision, by stream category; each is retried',
    labelNames: ['category'] as const,
    registers: [this.registry],
  });

  readonly writerRetries = new Counter({
    name: 'flashtix_hot_writer_retries_total',
    help: 'Hot-stream writer batches decided again after another process appended first',
    registers: [this.registry],
  });

  readonly writerBatchSize = new Histogram({
    name: 'flashtix_hot_writer_batch_commands',
    help: 'Commands decided into one append by a hot-stream writer',
    buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000],
    registers: [this.registry],
  });

  readonly openStreams = new Gauge({
    name: 'flashtix_availability_streams_open',
    help: 'Availability event streams (SSE) this process holds open',
    registers: [this.registry],
  });

  readonly projectionLagEvents = new Gauge({
    name: 'flashtix_projection_lag_events',
    help: 'Events in $all not yet applied by a projection or the process manager (counted up to 1000)',
    labelNames: ['group'] as const,
    registers: [this.registry],
  });

  readonly projectionLagSeconds = new Gauge({
    name: 'flashtix_projection_lag_seconds',
    help: 'Age of the oldest event a projection or the process manager has not applied yet',
    labelNames: ['group'] as const,
    registers: [this.registry],
  });

  readonly webhookAttempts = new Counter({
    name: 'flashtix_webhook_attempts_total',
    help: 'Webhook delivery attempts by what came of them: delivered, pending (retried later), failed (gave up)',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });

  /** `processMetrics`: CPU, memory, event loop and GC, for the one registry a process serves. */
  constructor({ processMetrics = false } = {}) {
    // They start monitors that live as long as the process: not for every app a test builds.
    if (processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'flashtix_' });
  }
}
