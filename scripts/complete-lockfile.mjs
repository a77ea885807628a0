// Some registry mirrors serve only the platform packages of the machine they serve, so
// `npm install` leaves the other platforms' optional binaries (biome, rollup) out of
// package-lock.json, and `npm ci` then refuses the lock file as out of sync. This adds the
// missing entries with their os/cpu/libc, which npm reads to skip them on other platforms.
// Run after `npm install` when the lock file changed: node scripts/complete-lockfile.mjs
import fs from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(fs.readFileSync(file, 'utf8'));

// "@rollup/rollup-linux-x64-musl" → { os: linux, cpu: x64, libc: musl }
const platformOf = (name) => {
  const [osName, cpu, ...abi] = name
    .split('/')[1]
    .replace(/^(cli|rollup)-/, '')
    .split('-');
  const platform = { os: [osName], cpu: [cpu] };
  if (osName === 'linux') platform.libc = [abi.some((part) => part.includes('musl')) ? 'musl' : 'glibc'];
  return platform;
};

let added = 0;
for (const meta of Object.values(lock.packages)) {
  for (const [name, version] of Object.entries(meta.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (lock.packages[key] || !/^@(biomejs\/cli|rollup\/rollup)-/.test(name)) continue;
    lock.packages[key] = { version, ...platformOf(name), ...(meta.dev ? { dev: true } : {}), optional: true };
    added++;
  }
}
const [root, ...rest] = Object.entries(lock.packages);
lock.packages = Object.fromEntries([root, ...rest.sort(([a], [b]) => (a < b ? -1 : 1))]);
fs.writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} platform entries`);
