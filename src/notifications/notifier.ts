import type { Logger } from '../platform/logger.js';
import type { CustomerNotification } from './notificationQueries.js';

export type OutgoingNotification = CustomerNotification & { customerId: string };

/** The customer channel (e-mail, push, SMS...): throws when the message did not go out. */
export interface Notifier {
  notify(notification: OutgoingNotification): Promise<void>;
}

/** The default channel: one structured log line; the customer reads the message at GET /me/notifications. */
export const logNotifier = (log: Logger): Notifier => ({
  notify: async (notification) => {
    log.info({ notification }, 'customer notified');
  },
});
