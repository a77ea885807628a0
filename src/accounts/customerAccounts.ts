import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { decoyHash, hashPassword, verifyPassword } from './passwords.js';

export type Role = 'customer' | 'admin';

export type Account = { customerId: string; email: string; name: string; role: Role };

export class EmailTakenError extends Error {
  override readonly name = 'EmailTakenError';
}

// Emails compare case-insensitively: "Ann@x.org" and "ann@x.org" are one account.
const normalize = (email: string) => email.trim().toLowerCase();

type AccountRow = { customer_id: string; email: string; name: string; role: Role; password_hash: string };

const toAccount = (row: AccountRow): Account => ({
  customerId: row.customer_id,
  email: row.email,
  name: row.name,
  role: row.role,
});

/** Sign-up and sign-in against the `customers` table, with scrypt password hashes. */
export class CustomerAccounts {
  constructor(private readonly pool: pg.Pool) {}

  /** Throws EmailTakenError when the email already has an account. */
  async register(input: { email: string; password: string; name: string }): Promise<Account> {
    const passwordHash = await hashPassword(input.password);
    const { rows } = await this.pool.query<AccountRow>(
      `INSERT INTO customers (customer_id, email, name, password_hash, role)
       VALUES ($1, $2, $3, $4, 'customer')
       ON CONFLICT (email) DO NOTHING
       RETURNING *`,
      [randomUUID(), normalize(input.email), input.name, passwordHash],
    );
    if (!rows[0]) throw new EmailTakenError(`an account for ${input.email} exists`);
    return toAccount(rows[0]);
  }

  /** The account when the pair is right; undefined for a wrong password or an unknown email alike. */
  async authenticate(email: string, password: string): Promise<Account | undefined> {
    const { rows } = await this.pool.query<AccountRow>('SELECT * FROM customers WHERE email = $1', [
      normalize(email),
    ]);
    const row = rows[0];
    const matches = await verifyPassword(password, row?.password_hash ?? (await decoyHash()));
    return row && matches ? toAccount(row) : undefined;
  }

  /**
   * Makes the account with this email the admin, with this password (creating it if needed),
   * and every other admin a customer again: the admin is whoever the configuration names now.
   */
  async ensureAdmin(email: string, password: string): Promise<Account> {
    const passwordHash = await hashPassword(password);
    const { rows } = await this.pool.query<AccountRow>(
      `WITH demoted AS (
         UPDATE customers SET role = 'customer' WHERE role = 'admin' AND email <> $2
       )
       INSERT INTO customers (customer_id, email, name, password_hash, role)
       VALUES ($1, $2, 'Administrator', $3, 'admin')
       ON CONFLICT (email) DO UPDATE SET password_hash = EXCLUDED.password_hash, role = 'admin'
       RETURNING *`,
      [randomUUID(), normalize(email), passwordHash],
    );
    return toAccount(rows[0]!);
  }
}
