import { audit } from '../projections/audit.js';
import type { Command } from './command.js';
import { openRuntimeFromEnvironment } from './openRuntimeFromEnvironment.js';

export const auditCommand: Command = {
  name: 'audit',
  summary: 'replay the log, check every invariant; exit 2 on a violation',
  help: `Usage: flashtix audit [--json]

Replays the whole event log through the deciders and checks every invariant: seats conserved
per ticket type at every revision, no transition outside the state machines, every confirmed
order paid exactly once, every failed or late payment compensated, no hold stuck past its
expiry; then compares the read models with the log. Exits 0 when all holds, 2 on any violation.
  --json   print the report as JSON`,
  options: { json: { type: 'boolean', default: false } },
  run: async ({ values }) => {
    const runtime = await openRuntimeFromEnvironment({ logToStderr: true });
    try {
      const report = await audit({ store: runtime.eventStore, pool: runtime.pool }, { now: new Date() });
      if (values.json) console.log(JSON.stringify(report, null, 2));
      else {
        console.log(
          `${report.ok ? 'OK' : 'VIOLATIONS FOUND'}: ${report.checkedEvents} events checked, ${report.violations.length} violations, read models ${report.readModels}`,
        );
        for (const v of report.violations)
          console.log(`  ${v.kind}: ${v.detail}${v.streamName ? ` (${v.streamName} at ${v.position})` : ''}`);
      }
      return report.ok ? 0 : 2;
    } finally {
      await runtime.shutdown.run();
    }
  },
};
