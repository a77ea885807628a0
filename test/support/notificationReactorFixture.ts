import { afterAll, beforeAll } from 'vitest';
import { NOTIFICATIONS, notificationReactor } from '../../src/notifications/notificationReactor.js';
import { writeCheckpoint } from '../../src/projections/checkpoints.js';
import { ProjectionRunner } from '../../src/projections/projectionRunner.js';
import { projectionStatus } from '../../src/projections/projectionStatus.js';
import type { ApiStackFixture } from './apiStack.js';
import { waitFor } from './waitFor.js';

/** Runs the notification reactor on the fixture's stack for the whole file. */
export const useNotificationReactor = (f: ApiStackFixture) => {
  let reactor: ProjectionRunner;
  const start = () => {
    reactor = new ProjectionRunner({
      pool: f.stack.pool,
      store: f.stack.subject.store,
      projection: notificationReactor(),
      retryMs: 50,
      onError: (error) => console.error(error),
    });
    reactor.start();
  };
  beforeAll(start);
  afterAll(() => reactor.stop());
  return {
    /** As after a crash that lost the checkpoint: the reactor reads the whole log again. */
    readTheLogAgain: async () => {
      await reactor.stop();
      await writeCheckpoint(f.stack.pool, NOTIFICATIONS, 'start');
      start();
      await waitFor(
        'the reactor to read the whole log again',
        async () =>
          (await projectionStatus(f.stack.pool, f.stack.subject.store, NOTIFICATIONS)).eventsBehind === 0,
      );
    },
  };
};
