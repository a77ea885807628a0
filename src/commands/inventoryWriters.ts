import type { InventoryCommand } from '../domain/inventory/commands.js';
import {
  draftInventoryState,
  type InventoryErrorCode,
  type InventoryState,
  inventoryDecider,
  inventoryStreamName,
  type Reservation,
} from '../domain/inventory/decider.js';
import type { InventoryEvent, ReleaseReason } from '../domain/inventory/events.js';
import type { EventStore } from '../eventstore/eventStore.js';
import { HotStreamWriter, type HotStreamWriterOptions, type WriterResult } from './hotStreamWriter.js';

/** What a caller learns of the reservation its command named, as it stands after the command. */
export type ReservationAnswer = { reservation: Reservation | undefined };

export type InventoryResult = WriterResult<InventoryEvent, InventoryErrorCode, ReservationAnswer>;

export type Availability = { capacity: number; available: number; reserved: number; sold: number };

type InventoryWriter = HotStreamWriter<
  InventoryState,
  InventoryCommand,
  InventoryEvent,
  InventoryErrorCode,
  ReservationAnswer
>;

const reservationOf = (state: InventoryState, command: InventoryCommand): ReservationAnswer => {
  if (state.status !== 'initialized' || !('reservationId' in command.data)) return { reservation: undefined };
  return { reservation: state.reservations.get(command.data.reservationId) };
};

export type InventoryWritersOptions = Pick<
  HotStreamWriterOptions<InventoryState, InventoryCommand, ReservationAnswer>,
  'maxQueue' | 'maxBatch' | 'maxConflicts' | 'onBatch' | 'onConflict'
>;

/** The hot-stream writers of every inventory this process touches, one per ticket type. */
export class InventoryWriters {
  readonly #writers = new Map<string, InventoryWriter>();

  constructor(
    private readonly store: EventStore,
    private readonly options: InventoryWritersOptions = {},
  ) {}

  writerFor(ticketTypeId: string): InventoryWriter {
    let writer = this.#writers.get(ticketTypeId);
    if (!writer) {
      writer = new HotStreamWriter(this.store, inventoryDecider, inventoryStreamName(ticketTypeId), {
        ...this.options,
        draftState: draftInventoryState,
        answer: reservationOf,
        // Only new holds are turned away when the queue is full; commits and releases finish purchases.
        sheddable: (command) => command.type === 'ReserveSeats',
      });
      this.#writers.set(ticketTypeId, writer);
    }
    return writer;
  }

  send(ticketTypeId: string, command: InventoryCommand): Promise<InventoryResult> {
    return this.writerFor(ticketTypeId).submit(command);
  }

  reserve(
    ticketTypeId: string,
    data: { reservationId: string; customerId: string; quantity: number; now: Date },
  ): Promise<InventoryResult> {
    return this.send(ticketTypeId, { type: 'ReserveSeats', data });
  }

  commit(ticketTypeId: string, reservationId: string, now: Date): Promise<InventoryResult> {
    return this.send(ticketTypeId, { type: 'CommitReservation', data: { reservationId, now } });
  }

  release(
    ticketTypeId: string,
    reservationId: string,
    reason: ReleaseReason,
    now: Date,
  ): Promise<InventoryResult> {
    return this.send(ticketTypeId, { type: 'ReleaseReservation', data: { reservationId, reason, now } });
  }

  /** The reservation as the stream has it now (other processes' appends included). */
  reservation(ticketTypeId: string, reservationId: string): Promise<Reservation | undefined> {
    return this.writerFor(ticketTypeId).read((state) =>
      state.status === 'initialized' ? state.reservations.get(reservationId) : undefined,
    );
  }

  availability(ticketTypeId: string): Promise<Availability | undefined> {
    return this.writerFor(ticketTypeId).read((state) =>
      state.status === 'initialized'
        ? {
            capacity: state.definition.capacity,
            available: state.available,
            reserved: state.reserved,
            sold: state.sold,
          }
        : undefined,
    );
  }

  async close(): Promise<void> {
    await Promise.all([...this.#writers.values()].map((w) => w.close()));
  }
}
