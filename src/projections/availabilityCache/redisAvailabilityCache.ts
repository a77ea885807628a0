import { Redis, type RedisOptions } from 'ioredis';
import {
  type AvailabilityCache,
  AvailabilityCacheUnavailableError,
  type AvailabilityChanged,
  type FiguresChange,
  type TicketTypeFigures,
} from './availabilityCache.js';

const SUBSCRIBE_TIMEOUT_MS = 3000;

// Applies, in one atomic step, the changes newer than the stored figures (positions compare as
// strings), stores the result and publishes it. Mirrors applyChanges in availabilityCache.ts.
const APPLY_SCRIPT = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
local f
if raw then f = cjson.decode(raw) else
  f = { ticketTypeId = ARGV[1], capacity = 0, available = 0, reserved = 0, sold = 0, position = '' }
end
local initialized = raw ~= false and raw ~= nil
local changed = false
for i = 4, #ARGV, 5 do
  local position = ARGV[i + 1]
  if position > f.position and (initialized or ARGV[i] == 'initialized') then
    initialized = true
    if ARGV[i] == 'initialized' then
      f.capacity = tonumber(ARGV[i + 2]); f.available = f.capacity; f.reserved = 0; f.sold = 0
    else
      f.available = f.available + tonumber(ARGV[i + 2])
      f.reserved = f.reserved + tonumber(ARGV[i + 3])
      f.sold = f.sold + tonumber(ARGV[i + 4])
    end
    f.position = position
    changed = true
  end
end
if not changed then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(f))
f.showId = ARGV[2]
redis.call('PUBLISH', ARGV[3], cjson.encode(f))
return 1
`;

/**
 * A command fails after one reconnection attempt instead of waiting in a queue while Redis is
 * down, so that reads fall back to PostgreSQL at once; the client keeps reconnecting meanwhile.
 */
// Auto-pipelining: the availability reads of many requests at once go in one write.
const FAIL_FAST: RedisOptions = {
  maxRetriesPerRequest: 1,
  connectTimeout: 2000,
  commandTimeout: 1000,
  enableAutoPipelining: true,
};

type ApplyCommand = (key: string, ...args: (string | number)[]) => Promise<number>;

export type RedisAvailabilityCacheOptions = {
  /** Prepended to every key and to the change channel, so that several deployments can share a Redis. */
  prefix?: string;
  /** Extra ioredis options (timeouts, retry strategy). */
  redis?: RedisOptions;
};

/** The availability cache in Redis, shared by every API process, with a pub/sub change channel. */
export class RedisAvailabilityCache implements AvailabilityCache {
  readonly #redis: Redis;
  readonly #subscribers = new Set<Redis>();
  readonly #prefix: string;
  readonly #channel: string;

  constructor(
    private readonly url: string,
    private readonly options: RedisAvailabilityCacheOptions = {},
  ) {
    this.#prefix = options.prefix ?? 'flashtix:';
    this.#channel = `${this.#prefix}availability:changes`;
    this.#redis = new Redis(url, { keyPrefix: this.#prefix, ...FAIL_FAST, ...options.redis });
    this.#redis.defineCommand('applyAvailability', { numberOfKeys: 1, lua: APPLY_SCRIPT });
    // Errors reach the callers of each command; the connection's own 'error' events only say it is retrying.
    this.#redis.on('error', () => undefined);
  }

  async apply(showId: string, ticketTypeId: string, changes: readonly FiguresChange[]): Promise<void> {
    if (changes.length === 0) return;
    const args: (string | number)[] = [ticketTypeId, showId, this.#channel];
    for (const c of changes)
      args.push(
        ...(c.kind === 'initialized'
          ? ['initialized', c.position, c.capacity, 0, 0]
          : ['moved', c.position, c.available, c.reserved, c.sold]),
      );
    const apply = (this.#redis as unknown as { applyAvailability: ApplyCommand }).applyAvailability;
    await apply.call(this.#redis, `availability:show:${showId}`, ...args);
  }

  async showOf(ticketTypeId: string): Promise<string | undefined> {
    return (await this.#redis.hget('availability:ticket-types', ticketTypeId)) ?? undefined;
  }

  async rememberShow(ticketTypeId: string, showId: string): Promise<void> {
    await this.#redis.hset('availability:ticket-types', ticketTypeId, showId);
  }

  async get(showId: string): Promise<TicketTypeFigures[] | undefined> {
    // While disconnected, answer at once so that the reader falls back instead of waiting.
    if (this.#redis.status !== 'ready') throw new Error(`Redis is ${this.#redis.status}`);
    const fields = await this.#redis.hgetall(`availability:show:${showId}`);
    const figures = Object.values(fields).map((raw) => JSON.parse(raw) as TicketTypeFigures);
    return figures.length > 0 ? figures : undefined;
  }

  async subscribe(listener: (change: AvailabilityChanged) => void): Promise<() => Promise<void>> {
    // No command timeout here: a subscription waits for messages as long as it lives.
    const subscriber = new Redis(this.url, { connectTimeout: 2000, ...this.options.redis });
    subscriber.on('error', () => undefined);
    this.#subscribers.add(subscriber);
    subscriber.on('message', (_channel: string, message: string) => {
      listener(JSON.parse(message) as AvailabilityChanged);
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        subscriber.subscribe(this.#channel),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('no answer')), SUBSCRIBE_TIMEOUT_MS);
        }),
      ]);
    } catch (error) {
      // A subscriber that never got going must not keep reconnecting in the background.
      this.#subscribers.delete(subscriber);
      subscriber.disconnect();
      throw new AvailabilityCacheUnavailableError('the availability change channel is unavailable', {
        cause: error,
      });
    } finally {
      clearTimeout(timer);
    }
    return async () => {
      this.#subscribers.delete(subscriber);
      subscriber.disconnect();
    };
  }

  async clear(): Promise<void> {
    // SCAN sees keys without the client's prefix, and DEL adds it again: strip it.
    let cursor = '0';
    do {
      const [next, keys] = await this.#redis.scan(
        cursor,
        'MATCH',
        `${this.#prefix}availability:*`,
        'COUNT',
        500,
      );
      cursor = next;
      if (keys.length > 0) await this.#redis.del(...keys.map((k) => k.slice(this.#prefix.length)));
    } while (cursor !== '0');
  }

  /** Answers quickly whether Redis is reachable, for readiness checks. */
  async ping(): Promise<boolean> {
    return (await this.#redis.ping()) === 'PONG';
  }

  async close(): Promise<void> {
    for (const subscriber of this.#subscribers) subscriber.disconnect();
    this.#subscribers.clear();
    this.#redis.disconnect();
  }
}
