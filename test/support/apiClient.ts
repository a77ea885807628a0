import { randomUUID } from 'node:crypto';
import type { Api } from '../../src/api/app.js';
import type { OrderBody } from '../../src/api/schemas/order.js';
import type { ShowBody } from '../../src/api/schemas/show.js';
import type { Availability } from '../../src/projections/readModels/queries.js';
import { ADMIN } from './apiStack.js';

export type TicketTypeInput = {
  name?: string;
  priceCents?: number;
  capacity: number;
  maxPerCustomer?: number;
};

/** Speaks the HTTP contract through `inject`, as a client would. */
export const apiClient = (api: Api) => {
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const login = async (email: string, password: string) => {
    const response = await api.inject({ method: 'POST', url: '/auth/login', payload: { email, password } });
    if (response.statusCode !== 200) throw new Error(`login failed: ${response.body}`);
    return (response.json() as { token: string }).token;
  };
  return {
    bearer,
    login,
    adminToken: () => login(ADMIN.email, ADMIN.password),
    /** A new customer; returns their id and token. */
    register: async (name = 'Buyer') => {
      const response = await api.inject({
        method: 'POST',
        url: '/auth/register',
        payload: { email: `${randomUUID()}@example.com`, password: 'correct horse battery', name },
      });
      if (response.statusCode !== 201) throw new Error(`register failed: ${response.body}`);
      return response.json() as { customerId: string; token: string };
    },
    createShow: async (
      adminToken: string,
      ticketTypes: TicketTypeInput[],
      extra: { holdSeconds?: number; salesOpenAt?: string } = {},
    ): Promise<ShowBody> => {
      const response = await api.inject({
        method: 'POST',
        url: '/admin/shows',
        headers: bearer(adminToken),
        payload: {
          name: 'Flash Show',
          venue: 'Arena',
          startsAt: new Date(Date.now() + 30 * 86_400_000).toISOString(),
          currency: 'EUR',
          ...extra,
          ticketTypes: ticketTypes.map((t, i) => ({ name: `Tier ${i}`, priceCents: 5000, ...t })),
        },
      });
      if (response.statusCode !== 201) throw new Error(`create show failed: ${response.body}`);
      return response.json() as ShowBody;
    },
    placeOrder: (
      token: string,
      key: string,
      body: { showId: string; lines: { ticketTypeId: string; quantity: number }[] },
    ) =>
      api.inject({
        method: 'POST',
        url: '/orders',
        headers: { ...bearer(token), 'idempotency-key': key },
        payload: body,
      }),
    pay: (token: string, orderId: string, key: string, paymentToken = 'tok_visa') =>
      api.inject({
        method: 'POST',
        url: `/orders/${orderId}/payment`,
        headers: { ...bearer(token), 'idempotency-key': key },
        payload: { paymentToken },
      }),
    cancel: (token: string, orderId: string) =>
      api.inject({ method: 'POST', url: `/orders/${orderId}/cancel`, headers: bearer(token) }),
    getOrder: (token: string, orderId: string) =>
      api.inject({ method: 'GET', url: `/orders/${orderId}`, headers: bearer(token) }),
    availability: async (showId: string) => {
      const response = await api.inject({ method: 'GET', url: `/shows/${showId}/availability` });
      // A show neither the cache nor the read models know yet reads as a 404 without ticket types.
      return response.json() as Partial<Availability>;
    },
  };
};

export type ApiClient = ReturnType<typeof apiClient>;
export type { OrderBody };
