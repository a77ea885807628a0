import { expect } from 'vitest';
import type { Decider } from '../../src/domain/decider.js';

/**
 * given(events) / when(command) / thenEmits(events) or thenRejects(code), as in Emmett's
 * DeciderSpecification: the decider sees only the state folded from the given events.
 */
export const deciderSpec = <State, Command, Event, Code extends string>(
  decider: Decider<State, Command, Event, Code>,
) => ({
  given: (events: Event[]) => ({
    when: (command: Command) => {
      let state = decider.initialState();
      for (const event of events) state = decider.evolve(state, event);
      const decision = decider.decide(command, state);
      return {
        thenEmits: (expected: Event[]) => {
          if (!decision.ok)
            throw new Error(`expected events, got ${decision.error.code}: ${decision.error.message}`);
          expect(decision.events).toEqual(expected);
        },
        thenNothingHappens: () => {
          if (!decision.ok) throw new Error(`expected no events, got ${decision.error.code}`);
          expect(decision.events).toEqual([]);
        },
        thenRejects: (code: Code) => {
          if (decision.ok) throw new Error(`expected ${code}, got ${JSON.stringify(decision.events)}`);
          expect(decision.error.code).toBe(code);
        },
      };
    },
  }),
});
