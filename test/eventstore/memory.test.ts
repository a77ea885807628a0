import { MemoryEventStore } from '../../src/eventstore/memory/memoryEventStore.js';
import { eventStoreContract } from './contract.js';

eventStoreContract('memory', async () => {
  const store = new MemoryEventStore();
  return { store, teardown: () => store.close() };
});
