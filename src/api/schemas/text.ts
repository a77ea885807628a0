import { z } from 'zod';

/** A line of text a person typed: trimmed, not empty, no control characters (PostgreSQL refuses NUL). */
export const textLine = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find them
    .regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters');
