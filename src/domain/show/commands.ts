import type { TicketType } from './events.js';

export type ScheduleShow = {
  type: 'ScheduleShow';
  data: {
    showId: string;
    name: string;
    venue: string;
    startsAt: string;
    salesOpenAt: string;
    currency: string;
    holdSeconds: number;
    ticketTypes: TicketType[];
    now: Date;
  };
};
export type OpenShowSales = { type: 'OpenShowSales'; data: { showId: string; now: Date } };
export type CloseShowSales = { type: 'CloseShowSales'; data: { showId: string; now: Date } };

export type ShowCommand = ScheduleShow | OpenShowSales | CloseShowSales;
