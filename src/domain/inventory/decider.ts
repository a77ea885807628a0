import { accept, addSeconds, type Decider, type Decision, instant, reject } from '../decider.js';
import { JournaledMap } from '../journaledMap.js';
import type { InventoryCommand, ReleaseReservation, ReserveSeats } from './commands.js';
import { type InventoryEvent, type InventoryInitialized, inventoryEventSchema } from './events.js';

export type InventoryErrorCode =
  | 'inventory_not_found'
  | 'inventory_already_initialized'
  | 'invalid_inventory'
  | 'invalid_quantity'
  | 'sold_out'
  | 'purchase_limit_exceeded'
  | 'sales_not_open'
  | 'sales_closed'
  | 'reservation_not_found'
  | 'reservation_committed'
  | 'reservation_released'
  | 'hold_not_expired';

export type ReservationStatus = 'reserved' | 'committed' | 'released';

/** Never changed in place (evolve replaces it), so a state copy may share these records. */
export type Reservation = {
  readonly customerId: string;
  readonly quantity: number;
  readonly expiresAt: string;
  readonly status: ReservationStatus;
};

export type InventoryState =
  | { status: 'uninitialized' }
  | {
      status: 'initialized';
      definition: InventoryInitialized['data'];
      salesOpenAt: string;
      salesClosed: boolean;
      available: number;
      reserved: number;
      sold: number;
      /** Every reservation ever made, so that a repeated reservation id is recognised. */
      reservations: JournaledMap<string, Reservation>;
      /** Seats per customer, counted over reserved + sold, for maxPerCustomer. */
      seatsPerCustomer: JournaledMap<string, number>;
    };

type Initialized = Extract<InventoryState, { status: 'initialized' }>;

const notFound = () => reject('inventory_not_found' as const, 'this ticket type has no inventory');

const decideReserve = (
  { data }: ReserveSeats,
  state: Initialized,
): Decision<InventoryEvent, InventoryErrorCode> => {
  if (state.reservations.has(data.reservationId)) return accept();
  if (!Number.isInteger(data.quantity) || data.quantity < 1)
    return reject('invalid_quantity', 'quantity must be a positive integer');
  if (state.salesClosed) return reject('sales_closed', 'sales for this ticket type are closed');
  if (data.now.getTime() < instant(state.salesOpenAt))
    return reject('sales_not_open', `sales open at ${state.salesOpenAt}`);
  const held = state.seatsPerCustomer.get(data.customerId) ?? 0;
  if (held + data.quantity > state.definition.maxPerCustomer)
    return reject(
      'purchase_limit_exceeded',
      `at most ${state.definition.maxPerCustomer} seats per customer; ${held} already held or bought`,
    );
  if (data.quantity > state.available) return reject('sold_out', `only ${state.available} seats left`);
  return accept({
    type: 'SeatsReserved',
    data: {
      reservationId: data.reservationId,
      customerId: data.customerId,
      quantity: data.quantity,
      reservedAt: data.now.toISOString(),
      expiresAt: addSeconds(data.now, state.definition.holdSeconds),
    },
  });
};

const notReserved = (id: string, reservation: Reservation) =>
  reservation.status === 'committed'
    ? reject('reservation_committed' as const, `reservation ${id} is already committed`)
    : reject('reservation_released' as const, `reservation ${id} is already released`);

const decideRelease = (
  { data }: ReleaseReservation,
  state: Initialized,
): Decision<InventoryEvent, InventoryErrorCode> => {
  const reservation = state.reservations.get(data.reservationId);
  if (!reservation) return reject('reservation_not_found', `no reservation ${data.reservationId}`);
  if (reservation.status !== 'reserved') return notReserved(data.reservationId, reservation);
  if (data.reason === 'expired' && data.now.getTime() < instant(reservation.expiresAt))
    return reject(
      'hold_not_expired',
      `reservation ${data.reservationId} holds until ${reservation.expiresAt}`,
    );
  return accept({
    type: 'ReservationReleased',
    data: {
      reservationId: data.reservationId,
      customerId: reservation.customerId,
      quantity: reservation.quantity,
      reason: data.reason,
      releasedAt: data.now.toISOString(),
    },
  });
};

const sameDefinition = (
  a: InventoryInitialized['data'],
  b: Omit<InventoryInitialized['data'], 'initializedAt'>,
) =>
  a.ticketTypeId === b.ticketTypeId &&
  a.showId === b.showId &&
  a.capacity === b.capacity &&
  a.maxPerCustomer === b.maxPerCustomer &&
  a.holdSeconds === b.holdSeconds &&
  instant(a.salesOpenAt) === instant(b.salesOpenAt);

const decide = (
  command: InventoryCommand,
  state: InventoryState,
): Decision<InventoryEvent, InventoryErrorCode> => {
  if (command.type === 'InitializeInventory') {
    const { now, ...definition } = command.data;
    if (state.status === 'initialized') {
      return sameDefinition(state.definition, definition)
        ? accept()
        : reject('inventory_already_initialized', 'this ticket type already has a different inventory');
    }
    if (!Number.isInteger(definition.capacity) || definition.capacity < 1)
      return reject('invalid_inventory', 'capacity must be a positive integer');
    if (!Number.isInteger(definition.maxPerCustomer) || definition.maxPerCustomer < 1)
      return reject('invalid_inventory', 'maxPerCustomer must be a positive integer');
    if (!Number.isInteger(definition.holdSeconds) || definition.holdSeconds < 1)
      return reject('invalid_inventory', 'holdSeconds must be a positive integer');
    return accept({
      type: 'InventoryInitialized',
      data: { ...definition, initializedAt: now.toISOString() },
    });
  }
  if (state.status !== 'initialized') return notFound();
  switch (command.type) {
    case 'ReserveSeats':
      return decideReserve(command, state);
    case 'CommitReservation': {
      const { reservationId, now } = command.data;
      const reservation = state.reservations.get(reservationId);
      if (!reservation) return reject('reservation_not_found', `no reservation ${reservationId}`);
      if (reservation.status !== 'reserved') return notReserved(reservationId, reservation);
      return accept({
        type: 'ReservationCommitted',
        data: {
          reservationId,
          customerId: reservation.customerId,
          quantity: reservation.quantity,
          committedAt: now.toISOString(),
        },
      });
    }
    case 'ReleaseReservation':
      return decideRelease(command, state);
    case 'OpenInventorySales': {
      const open = !state.salesClosed && instant(state.salesOpenAt) <= command.data.now.getTime();
      return open
        ? accept()
        : accept({ type: 'SalesOpened', data: { openedAt: command.data.now.toISOString() } });
    }
    case 'CloseInventorySales':
      return state.salesClosed
        ? accept()
        : accept({ type: 'SalesClosed', data: { closedAt: command.data.now.toISOString() } });
  }
};

const addCustomerSeats = (state: Initialized, customerId: string, delta: number) => {
  const next = (state.seatsPerCustomer.get(customerId) ?? 0) + delta;
  if (next === 0) state.seatsPerCustomer.delete(customerId);
  else state.seatsPerCustomer.set(customerId, next);
};

/**
 * A working copy of the state for deciding a batch, and what keeps or drops what was decided.
 * Scalars live in the copy; the two maps are shared and journal their changes, so trying a batch
 * costs the batch, not the number of reservations (copying 20,000 of them took 6 ms a batch).
 */
export const draftInventoryState = (
  state: InventoryState,
): { state: InventoryState; keep: () => void; discard: () => void } => {
  // Evolving an uninitialized state makes a new one: nothing shared to take back.
  if (state.status !== 'initialized') return { state, keep: () => undefined, discard: () => undefined };
  const maps = [state.reservations, state.seatsPerCustomer];
  for (const map of maps) map.startJournal();
  return {
    state: { ...state },
    keep: () => {
      for (const map of maps) map.keepChanges();
    },
    discard: () => {
      for (const map of maps) map.undoChanges();
    },
  };
};

// Updates the state in place: see Decider.evolve for why.
const evolve = (state: InventoryState, event: InventoryEvent): InventoryState => {
  if (event.type === 'InventoryInitialized') {
    return {
      status: 'initialized',
      definition: event.data,
      salesOpenAt: event.data.salesOpenAt,
      salesClosed: false,
      available: event.data.capacity,
      reserved: 0,
      sold: 0,
      reservations: new JournaledMap(),
      seatsPerCustomer: new JournaledMap(),
    };
  }
  if (state.status !== 'initialized') return state;
  switch (event.type) {
    case 'SeatsReserved': {
      const { reservationId, customerId, quantity, expiresAt } = event.data;
      // decide never emits a second SeatsReserved for one id; a log that has one is not
      // allowed to move seats twice (the audit reports it).
      if (state.reservations.has(reservationId)) return state;
      state.reservations.set(reservationId, { customerId, quantity, expiresAt, status: 'reserved' });
      state.available -= quantity;
      state.reserved += quantity;
      addCustomerSeats(state, customerId, quantity);
      return state;
    }
    case 'ReservationCommitted': {
      const reservation = state.reservations.get(event.data.reservationId);
      if (reservation?.status !== 'reserved') return state;
      state.reservations.set(event.data.reservationId, { ...reservation, status: 'committed' });
      state.reserved -= reservation.quantity;
      state.sold += reservation.quantity;
      return state;
    }
    case 'ReservationReleased': {
      const reservation = state.reservations.get(event.data.reservationId);
      if (reservation?.status !== 'reserved') return state;
      state.reservations.set(event.data.reservationId, { ...reservation, status: 'released' });
      state.reserved -= reservation.quantity;
      state.available += reservation.quantity;
      addCustomerSeats(state, reservation.customerId, -reservation.quantity);
      return state;
    }
    case 'SalesOpened':
      state.salesClosed = false;
      if (instant(event.data.openedAt) < instant(state.salesOpenAt)) state.salesOpenAt = event.data.openedAt;
      return state;
    case 'SalesClosed':
      state.salesClosed = true;
      return state;
  }
};

export const inventoryDecider: Decider<InventoryState, InventoryCommand, InventoryEvent, InventoryErrorCode> =
  {
    decide,
    evolve,
    initialState: () => ({ status: 'uninitialized' }),
    parseEvent: (raw) => inventoryEventSchema.parse(raw),
  };

export const inventoryStreamName = (ticketTypeId: string): string => `inventory-${ticketTypeId}`;
