const NOT_NOW = new Set(['unavailable', 'deadline-exceeded', 'timeout', 'not-leader', 'cancelled']);

/** Failures that mean "not now": the server is away, slow, or not the leader. */
export const isUnavailable = (error: unknown): boolean => {
  const { code, type } = error as { code?: unknown; type?: unknown };
  // Before the client classifies a failure, gRPC's UNAVAILABLE (14) or DEADLINE_EXCEEDED (4) come as is.
  return code === 14 || code === 4 || (typeof type === 'string' && NOT_NOW.has(type));
};
