import { NOTIFICATIONS } from '../notifications/notificationReactor.js';
import { readProcessCheckpoint } from '../process/purchaseProcessManager.js';
import { AVAILABILITY_CACHE } from '../projections/availabilityCache/availabilityCacheProjection.js';
import { MemoryAvailabilityCache } from '../projections/availabilityCache/memoryAvailabilityCache.js';
import { type ProjectionStatus, projectionStatus, statusAt } from '../projections/projectionStatus.js';
import { READ_MODELS } from '../projections/readModels/readModelProjection.js';
import { REBUILDABLE, type RebuildableName, rebuild } from '../projections/rebuild.js';
import type { Runtime } from '../runtime.js';
import { type Command, UsageError } from './command.js';
import { openRuntimeFromEnvironment } from './openRuntimeFromEnvironment.js';
import { bar, ProgressLine } from './progressLine.js';

const isRebuildable = (name: string): name is RebuildableName =>
  (REBUILDABLE as readonly string[]).includes(name);

const rebuildProjections = async (runtime: Runtime, requested: string[]): Promise<number> => {
  const unknown = requested.filter((name) => !isRebuildable(name));
  if (unknown.length > 0)
    throw new UsageError(`unknown projection ${unknown.join(', ')}; rebuildable: ${REBUILDABLE.join(', ')}`);
  let names: RebuildableName[] = requested.length > 0 ? requested.filter(isRebuildable) : [...REBUILDABLE];
  if (runtime.availabilityCache instanceof MemoryAvailabilityCache && names.includes(AVAILABILITY_CACHE)) {
    // That cache lives inside each FlashTix process and is replayed whenever one starts.
    console.log(`${AVAILABILITY_CACHE}: in-process without REDIS_URL; every start rebuilds it, skipped`);
    names = names.filter((name) => name !== AVAILABILITY_CACHE);
  }
  const progress = new ProgressLine();
  const results = await rebuild(
    {
      pool: runtime.pool,
      store: runtime.eventStore,
      cache: runtime.availabilityCache,
      countEvents: runtime.countEvents,
    },
    names,
    (p) =>
      progress.update(
        `${p.projection.padEnd(18)} ${runtime.countEvents ? `${bar(p.done, p.total)} ${p.done}/${p.total}` : p.done} events, ${Math.round(p.eventsPerSecond)} events/s`,
      ),
  );
  for (const r of results)
    progress.done(
      `${r.projection.padEnd(18)} rebuilt: ${r.events} events in ${r.seconds.toFixed(1)} s (${Math.round(r.eventsPerSecond)} events/s)`,
    );
  return 0;
};

const describeStatus = (s: ProjectionStatus): string =>
  `${s.name.padEnd(18)} ${s.eventsBehind === 0 ? 'caught up' : `${s.atLeast ? '≥' : ''}${s.eventsBehind} events behind, oldest ${s.secondsBehind.toFixed(1)} s ago`}  (at ${s.position ?? 'the start'})`;

const showStatus = async (runtime: Runtime, json: boolean): Promise<number> => {
  const statuses = await Promise.all([
    projectionStatus(runtime.pool, runtime.eventStore, READ_MODELS),
    projectionStatus(runtime.pool, runtime.eventStore, AVAILABILITY_CACHE),
    projectionStatus(runtime.pool, runtime.eventStore, NOTIFICATIONS),
    statusAt(runtime.eventStore, 'purchase-process', await readProcessCheckpoint(runtime.pool)),
  ]);
  if (json) console.log(JSON.stringify(statuses, null, 2));
  else for (const status of statuses) console.log(describeStatus(status));
  return 0;
};

export const projectionsCommand: Command = {
  name: 'projections',
  summary: 'rebuild projections from the log, or show how far behind they are',
  help: `Usage: flashtix projections rebuild [name…]
       flashtix projections status [--json]

rebuild   replays the whole log into fresh read models and swaps them in while the API keeps
          serving the old ones, with a progress bar. Names: ${REBUILDABLE.join(', ')}
          (default: all). Without REDIS_URL the availability cache lives in each process and
          is rebuilt by every start, so it is skipped.
status    where each projection and the process manager stand in the log.
  --json  print the status as JSON`,
  options: { json: { type: 'boolean', default: false } },
  run: async ({ values, positionals }) => {
    const [action, ...names] = positionals;
    if (action !== 'rebuild' && action !== 'status') throw new UsageError('say rebuild or status');
    const json = values.json === true;
    const runtime = await openRuntimeFromEnvironment({ logToStderr: true });
    try {
      return action === 'rebuild'
        ? await rebuildProjections(runtime, names)
        : await showStatus(runtime, json);
    } finally {
      await runtime.shutdown.run();
    }
  },
};
