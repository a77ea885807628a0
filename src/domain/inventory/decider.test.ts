import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deciderSpec } from '../../../test/support/deciderSpec.js';
import type { InventoryCommand } from './commands.js';
import { draftInventoryState, type InventoryState, inventoryDecider } from './decider.js';
import { type InventoryEvent, releaseReasons } from './events.js';

const spec = deciderSpec(inventoryDecider);
const ticketTypeId = '0b0c4b4e-7a43-4c53-9b3e-5a1f9f0c2d11';
const showId = '7d1f0a3e-2c44-4f6b-8f1e-6b8a9e2d3c40';
const t0 = new Date('2026-12-01T10:00:00.000Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

const initialized = (capacity = 10, maxPerCustomer = 4): InventoryEvent => ({
  type: 'InventoryInitialized',
  data: {
    ticketTypeId,
    showId,
    capacity,
    maxPerCustomer,
    holdSeconds: 600,
    salesOpenAt: t0.toISOString(),
    initializedAt: at(-3600).toISOString(),
  },
});
const reserved = (
  reservationId: string,
  customerId: string,
  quantity: number,
  seconds = 0,
): InventoryEvent => ({
  type: 'SeatsReserved',
  data: {
    reservationId,
    customerId,
    quantity,
    reservedAt: at(seconds).toISOString(),
    expiresAt: at(seconds + 600).toISOString(),
  },
});
const committed = (reservationId: string, customerId: string, quantity: number): InventoryEvent => ({
  type: 'ReservationCommitted',
  data: { reservationId, customerId, quantity, committedAt: at(60).toISOString() },
});
const released = (reservationId: string, customerId: string, quantity: number): InventoryEvent => ({
  type: 'ReservationReleased',
  data: { reservationId, customerId, quantity, reason: 'payment_failed', releasedAt: at(60).toISOString() },
});
const reserve = (
  reservationId: string,
  customerId: string,
  quantity: number,
  seconds = 0,
): InventoryCommand => ({
  type: 'ReserveSeats',
  data: { reservationId, customerId, quantity, now: at(seconds) },
});

describe('inventory decider', () => {
  describe('InitializeInventory', () => {
    const initialize = (capacity = 10): InventoryCommand => ({
      type: 'InitializeInventory',
      data: {
        ticketTypeId,
        showId,
        capacity,
        maxPerCustomer: 4,
        holdSeconds: 600,
        salesOpenAt: t0.toISOString(),
        now: at(-3600),
      },
    });
    it('initializes a new ticket type', () => spec.given([]).when(initialize()).thenEmits([initialized()]));
    it('is a no-op when repeated with the same definition', () =>
      spec.given([initialized()]).when(initialize()).thenNothingHappens());
    it('refuses a different definition for an existing inventory', () =>
      spec.given([initialized()]).when(initialize(11)).thenRejects('inventory_already_initialized'));
    it('refuses a capacity below one', () =>
      spec.given([]).when(initialize(0)).thenRejects('invalid_inventory'));
  });

  describe('ReserveSeats', () => {
    it('reserves seats with a hold that expires holdSeconds later', () =>
      spec
        .given([initialized()])
        .when(reserve('r1', 'alice', 2, 5))
        .thenEmits([reserved('r1', 'alice', 2, 5)]));
    it('is idempotent by reservation id', () =>
      spec
        .given([initialized(), reserved('r1', 'alice', 2)])
        .when(reserve('r1', 'alice', 2))
        .thenNothingHappens());
    it('stays idempotent after the reservation was released', () =>
      spec
        .given([initialized(), reserved('r1', 'alice', 2), released('r1', 'alice', 2)])
        .when(reserve('r1', 'alice', 2))
        .thenNothingHappens());
    it('rejects sold_out when fewer seats are left than asked for', () =>
      spec
        .given([initialized(3), reserved('r1', 'alice', 2)])
        .when(reserve('r2', 'bob', 2))
        .thenRejects('sold_out'));
    it('takes the last seats exactly', () =>
      spec
        .given([initialized(3), reserved('r1', 'alice', 2)])
        .when(reserve('r2', 'bob', 1))
        .thenEmits([reserved('r2', 'bob', 1)]));
    it('counts the per-customer limit over reserved and sold seats', () =>
      spec
        .given([
          initialized(),
          reserved('r1', 'alice', 2),
          committed('r1', 'alice', 2),
          reserved('r2', 'alice', 1),
        ])
        .when(reserve('r3', 'alice', 2))
        .thenRejects('purchase_limit_exceeded'));
    it('gives the limit back when a reservation is released', () =>
      spec
        .given([initialized(), reserved('r1', 'alice', 4), released('r1', 'alice', 4)])
        .when(reserve('r2', 'alice', 4))
        .thenEmits([reserved('r2', 'alice', 4)]));
    it('rejects sales_not_open before salesOpenAt', () =>
      spec
        .given([initialized()])
        .when(reserve('r1', 'alice', 1, -1))
        .thenRejects('sales_not_open'));
    it('rejects sales_closed after sales closed', () =>
      spec
        .given([initialized(), { type: 'SalesClosed', data: { closedAt: at(1).toISOString() } }])
        .when(reserve('r1', 'alice', 1, 2))
        .thenRejects('sales_closed'));
    it('rejects a quantity that is not a positive integer', () => {
      spec
        .given([initialized()])
        .when(reserve('r1', 'alice', 0))
        .thenRejects('invalid_quantity');
      spec
        .given([initialized()])
        .when(reserve('r1', 'alice', 1.5))
        .thenRejects('invalid_quantity');
    });
    it('rejects inventory_not_found for a ticket type never initialized', () =>
      spec
        .given([])
        .when(reserve('r1', 'alice', 1))
        .thenRejects('inventory_not_found'));
  });

  describe('CommitReservation', () => {
    const commit = (reservationId: string): InventoryCommand => ({
      type: 'CommitReservation',
      data: { reservationId, now: at(60) },
    });
    it('commits a reserved reservation', () =>
      spec
        .given([initialized(), reserved('r1', 'alice', 2)])
        .when(commit('r1'))
        .thenEmits([committed('r1', 'alice', 2)]));
    it('refuses a commit after release', () =>
      spec
        .given([initialized(), reserved('r1', 'alice', 2), released('r1', 'alice', 2)])
        .when(commit('r1'))
        .thenRejects('reservation_released'));
    it('refuses a second commit', () =>
      spec
        .given([initialized(), reserved('r1', 'alice', 2), committed('r1', 'alice', 2)])
        .when(commit('r1'))
        .thenRejects('reservation_committed'));
    it('refuses an unknown reservation', () =>
      spec.given([initialized()]).when(commit('nope')).thenRejects('reservation_not_found'));
  });

  describe('ReleaseReservation', () => {
    const release = (
      reservationId: string,
      reason: (typeof releaseReasons)[number],
      seconds = 60,
    ): InventoryCommand => ({
      type: 'ReleaseReservation',
      data: { reservationId, reason, now: at(seconds) },
    });
    it('releases a reserved reservation with its reason', () =>
      spec
        .given([initialized(), reserved('r1', 'alice', 2)])
        .when(release('r1', 'payment_failed'))
        .thenEmits([released('r1', 'alice', 2)]));
    it('releases for expiry once expiresAt has passed', () =>
      spec
        .given([initialized(), reserved('r1', 'alice', 2)])
        .when(release('r1', 'expired', 600))
        .thenEmits([
          {
            type: 'ReservationReleased',
            data: {
              reservationId: 'r1',
              customerId: 'alice',
              quantity: 2,
              reason: 'expired',
              releasedAt: at(600).toISOString(),
            },
          },
        ]));
    it('refuses release for expiry before the hold has expired', () =>
      spec
        .given([initialized(), reserved('r1', 'alice', 2)])
        .when(release('r1', 'expired', 599))
        .thenRejects('hold_not_expired'));
    it('refuses release for expiry of a reservation that is no longer reserved', () => {
      spec
        .given([initialized(), reserved('r1', 'alice', 2), committed('r1', 'alice', 2)])
        .when(release('r1', 'expired', 900))
        .thenRejects('reservation_committed');
      spec
        .given([initialized(), reserved('r1', 'alice', 2), released('r1', 'alice', 2)])
        .when(release('r1', 'expired', 900))
        .thenRejects('reservation_released');
    });
    it('refuses to release a committed reservation', () =>
      spec
        .given([initialized(), reserved('r1', 'alice', 2), committed('r1', 'alice', 2)])
        .when(release('r1', 'cancelled'))
        .thenRejects('reservation_committed'));
    it('refuses an unknown reservation', () =>
      spec.given([initialized()]).when(release('nope', 'cancelled')).thenRejects('reservation_not_found'));
  });

  describe('sales', () => {
    it('opens closed sales and a no-op when already open', () => {
      spec
        .given([initialized(), { type: 'SalesClosed', data: { closedAt: at(1).toISOString() } }])
        .when({ type: 'OpenInventorySales', data: { now: at(2) } })
        .thenEmits([{ type: 'SalesOpened', data: { openedAt: at(2).toISOString() } }]);
      spec
        .given([initialized()])
        .when({ type: 'OpenInventorySales', data: { now: at(2) } })
        .thenNothingHappens();
    });
    it('opening early moves salesOpenAt forward so reservations are taken', () =>
      spec
        .given([initialized(), { type: 'SalesOpened', data: { openedAt: at(-60).toISOString() } }])
        .when(reserve('r1', 'alice', 1, -30))
        .thenEmits([reserved('r1', 'alice', 1, -30)]));
    it('closes open sales and a no-op when already closed', () => {
      spec
        .given([initialized()])
        .when({ type: 'CloseInventorySales', data: { now: at(1) } })
        .thenEmits([{ type: 'SalesClosed', data: { closedAt: at(1).toISOString() } }]);
      spec
        .given([initialized(), { type: 'SalesClosed', data: { closedAt: at(1).toISOString() } }])
        .when({ type: 'CloseInventorySales', data: { now: at(2) } })
        .thenNothingHappens();
    });
    it('refuses sales commands on an inventory never initialized', () =>
      spec
        .given([])
        .when({ type: 'CloseInventorySales', data: { now: at(1) } })
        .thenRejects('inventory_not_found'));
  });

  describe('conservation over random command sequences', () => {
    const ids = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8'];
    const customers = ['alice', 'bob', 'carol'];
    const step = fc.oneof(
      fc.record({
        kind: fc.constant('reserve' as const),
        id: fc.constantFrom(...ids),
        customer: fc.constantFrom(...customers),
        quantity: fc.integer({ min: 1, max: 5 }),
      }),
      fc.record({ kind: fc.constant('commit' as const), id: fc.constantFrom(...ids) }),
      fc.record({
        kind: fc.constant('release' as const),
        id: fc.constantFrom(...ids),
        reason: fc.constantFrom(...releaseReasons),
      }),
      fc.record({ kind: fc.constantFrom('open' as const, 'close' as const) }),
      fc.record({ kind: fc.constant('wait' as const), seconds: fc.integer({ min: 1, max: 400 }) }),
    );

    const checkInvariants = (state: InventoryState, capacity: number, maxPerCustomer: number) => {
      if (state.status !== 'initialized') throw new Error('not initialized');
      expect(state.available + state.reserved + state.sold).toBe(capacity);
      expect(state.available).toBeGreaterThanOrEqual(0);
      expect(state.reserved).toBeGreaterThanOrEqual(0);
      let reservedSum = 0;
      let soldSum = 0;
      const perCustomer = new Map<string, number>();
      for (const r of state.reservations.values()) {
        if (r.status === 'reserved') reservedSum += r.quantity;
        if (r.status === 'committed') soldSum += r.quantity;
        if (r.status !== 'released')
          perCustomer.set(r.customerId, (perCustomer.get(r.customerId) ?? 0) + r.quantity);
      }
      expect(reservedSum).toBe(state.reserved);
      expect(soldSum).toBe(state.sold);
      expect(new Map(state.seatsPerCustomer)).toEqual(perCustomer);
      for (const seats of perCustomer.values()) expect(seats).toBeLessThanOrEqual(maxPerCustomer);
    };

    it('keeps available + reserved + sold = capacity and every limit, after any sequence', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 12 }),
          fc.integer({ min: 1, max: 6 }),
          fc.array(step, { maxLength: 60 }),
          (capacity, maxPerCustomer, steps) => {
            let state = inventoryDecider.evolve(
              inventoryDecider.initialState(),
              initialized(capacity, maxPerCustomer),
            );
            let seconds = 0;
            for (const s of steps) {
              let command: InventoryCommand;
              switch (s.kind) {
                case 'wait':
                  seconds += s.seconds;
                  continue;
                case 'reserve':
                  command = reserve(s.id, s.customer, s.quantity, seconds);
                  break;
                case 'commit':
                  command = { type: 'CommitReservation', data: { reservationId: s.id, now: at(seconds) } };
                  break;
                case 'release':
                  command = {
                    type: 'ReleaseReservation',
                    data: { reservationId: s.id, reason: s.reason, now: at(seconds) },
                  };
                  break;
                case 'open':
                  command = { type: 'OpenInventorySales', data: { now: at(seconds) } };
                  break;
                case 'close':
                  command = { type: 'CloseInventorySales', data: { now: at(seconds) } };
                  break;
              }
              const decision = inventoryDecider.decide(command, state);
              if (decision.ok)
                for (const event of decision.events)
                  state = inventoryDecider.evolve(state, inventoryDecider.parseEvent(event));
              checkInvariants(state, capacity, maxPerCustomer);
            }
          },
        ),
        { numRuns: 500 },
      );
    });
  });

  describe('draftInventoryState', () => {
    const reserveOn = (state: InventoryState, reservationId: string) => {
      const decision = inventoryDecider.decide(
        { type: 'ReserveSeats', data: { reservationId, customerId: 'carol', quantity: 2, now: t0 } },
        state,
      );
      if (!decision.ok) throw decision.error;
      return decision.events.reduce(inventoryDecider.evolve, state);
    };
    /** Everything the state holds, maps included, as text to compare. */
    const contents = (state: InventoryState) =>
      state.status === 'initialized'
        ? JSON.stringify([state, [...state.reservations], [...state.seatsPerCustomer]])
        : JSON.stringify(state);

    it('takes a decided batch back entirely, or keeps it', () => {
      const cached = reserveOn(
        inventoryDecider.evolve(inventoryDecider.initialState(), initialized(10, 4)),
        'first',
      );
      const before = contents(cached);

      const tried = draftInventoryState(cached);
      reserveOn(tried.state, 'tried');
      tried.discard();
      expect(contents(cached)).toBe(before);

      const kept = draftInventoryState(cached);
      const after = reserveOn(kept.state, 'kept');
      kept.keep();
      expect(after).toMatchObject({ available: 6, reserved: 4 });
      if (after.status !== 'initialized') throw new Error('not initialized');
      expect(after.reservations.get('kept')).toMatchObject({ status: 'reserved' });
      expect(after.seatsPerCustomer.get('carol')).toBe(4);
    });
  });
});
